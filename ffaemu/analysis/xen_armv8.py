"""The Xen negotiation explorer (`ffaemu.explore`) under the ARMv8 model of `memmodel`.

The mediator image of asm/el2/xen/ runs on one memmodel vCPU per explore vCPU, over the shared
page (every word of it a model location); a run ends when every vCPU reached `done` and every
write buffer drained, and is judged by `explore.check` on the final memory.
"""
from __future__ import annotations

import random
import struct

from .. import explore as ex
from . import memmodel, search

NAMES = {ex.GUEST_VERS: "guest_vers", ex.NEGOTIATED: "negotiated", ex.TMP: "guest_vers_tmp",
         ex.LOCK: "lock", ex.LIST_ADDS: "list_adds"}


class _Final:
    """A run's final shared page, read like `explore._Run.words`."""

    def __init__(self, prog: ex.Program, out: memmodel.Outcome, init: dict[int, int]):
        self.values, self.page = {**init, **out.memory}, None
        if any(addr % 4 for addr in self.values):      # else no write overlaps another: by word
            self.page = bytearray(ex.SHARED_SIZE)
            for addr, val in self.values.items():
                struct.pack_into("<I", self.page, addr - ex.SHARED, val & 0xFFFF_FFFF)

    def words(self, off: int, n: int) -> list[int]:
        if self.page is None:
            at = ex.SHARED + off
            return [self.values.get(at + 4 * i, 0) & 0xFFFF_FFFF for i in range(n)]
        return list(struct.unpack_from(f"<{n}I", self.page, off))


# Executors by (code, vCPUs): making one (Unicorn instances, every instruction decoded) costs
# as much as dozens of runs, and each run starts from reset vCPUs, so a search reuses them
# (the last few: each holds a Unicorn instance per vCPU).
_EXECUTORS: dict[tuple, memmodel.Executor] = {}
KEEP_EXECUTORS = 8


def executor(prog: ex.Program) -> memmodel.Executor:
    """One memmodel vCPU per explore vCPU (made once per Program and image)."""
    if getattr(prog, "_armv8", None) is None:
        seg = prog.image.segments[0]
        key = (seg.addr, bytes(seg.data), prog.image.symbols["vcpu_main"], prog.image.symbols["done"],
               tuple(prog.requests))
        if key in _EXECUTORS:
            prog._armv8 = _EXECUTORS[key]
            return prog._armv8
        threads = [memmodel.ThreadSpec([(seg.addr, seg.data)], prog.image.symbols["vcpu_main"],
                                       prog.image.symbols["done"], {0: v}, f"vCPU {v}")
                   for v in range(prog.vcpus)]
        init = {ex.SHARED + ex.REQUESTS + 4 * v: r for v, r in enumerate(prog.requests)}
        names = {ex.SHARED + off: n for off, n in NAMES.items()}
        names.update({ex.SHARED + ex.SERVED + 4 * v: f"served[{v}]" for v in range(prog.vcpus)})
        names.update({ex.SHARED + ex.REQUESTS + 4 * v: f"request[{v}]" for v in range(prog.vcpus)})
        program = memmodel.Program(threads, ex.SHARED, ex.SHARED_SIZE, init, names, prog.image.symbolize)
        prog._armv8 = memmodel.Executor(program, "armv8", promises=True)
        prog._armv8.want_regs = False          # judged on memory only
        while len(_EXECUTORS) >= KEEP_EXECUTORS:
            del _EXECUTORS[next(iter(_EXECUTORS))]          # the oldest
        _EXECUTORS[key] = prog._armv8
    return prog._armv8


def judge(prog: ex.Program, out: memmodel.Outcome) -> str | None:
    """The invariant a run breaks, or None (also for a dropped run: no execution at all)."""
    if not out.valid:
        return None
    if out.failure:
        return out.failure
    return ex.check(prog, _Final(prog, out, executor(prog).prog.init))


def outcome(prog: ex.Program, deviations=None, rng=None, seed=None) -> ex.Outcome:
    """One run with its trace, as an explore.Outcome (notes say what each load read and why)."""
    out = executor(prog).run(deviations, rng=rng, trace=True)
    steps = [ex.Step(e.tid, e.pc, prog.image.symbolize(e.pc), e.text, e.note) for e in out.trace]
    return ex.Outcome(steps, judge(prog, out), seed=seed,
                      schedule=None if seed is not None else search.format_deviations(out.deviations))


def explore_bounded(prog: ex.Program, bound: int, shard: tuple[int, int] = (0, 1)) -> ex.Report:
    """Every run with at most `bound` deviations from the default choices (`shard`: this
    share of them, see search.explore)."""
    summary = search.explore(executor(prog), lambda out: judge(prog, out), bound=bound,
                             shard=shard)
    failing = {k: n for k, n in summary.outcomes.items() if k is not None}
    first = None
    if failing:
        first_run = min((summary.first[k] for k in failing),
                        key=lambda o: (len(o.deviations), sorted(o.deviations.items())))
        first = outcome(prog, first_run.deviations)
    report = ex.Report(prog.variant, summary.executions, sum(failing.values()), first,
                       f"bounded, at most {bound} deviations", "armv8")
    if shard != (0, 1):       # what ffaemu.shard.merge needs: each failing kind's first run
        report.shard = {"index": shard[0], "of": shard[1], "vcpus": prog.vcpus, "firsts": [
            {"key": k, "count": n, "order": list(summary.order[k]),
             "deviations": sorted(summary.first[k].deviations.items())} for k, n in failing.items()]}
    return report


def explore_random(prog: ex.Program, seed: int, count: int, shard: tuple[int, int] = (0, 1)) -> ex.Report:
    """`count` random runs from seeds seed, seed+1, ... (`shard` (i, n): every n-th from
    seed+i); runs dropped for an unfulfilled promise are not executions and are not counted."""
    failures, runs, first = 0, 0, None
    ex_ = executor(prog)
    for s in ex.shard_range(seed, count, shard):
        out = ex_.run(rng=random.Random(s))
        runs += out.valid
        if judge(prog, out):
            failures += 1
            first = first or outcome(prog, rng=random.Random(s), seed=s)
    report = ex.Report(prog.variant, runs, failures, first, f"random, seeds {seed}..{seed + count - 1}",
                       "armv8")
    if shard != (0, 1):
        report.shard = {"index": shard[0], "of": shard[1]}
    return report


def replay(prog: ex.Program, seed: int | None = None, schedule: str | None = None) -> ex.Outcome:
    if seed is not None:
        return outcome(prog, rng=random.Random(seed), seed=seed)
    return outcome(prog, search.parse_deviations(schedule))
