"""The interleaving explorer: several vCPUs of one VM, interleaved one instruction at a time.

Each vCPU is its own Unicorn instance at EL2h; all of them map one shared data page
(`mem_map_ptr`), so loads, stores and exclusives see each other exactly as the schedule
orders them. A schedule starts with vCPU 0 and switches at chosen steps
(preemptions); a vCPU that finishes, or that spins SPIN_LIMIT steps in a row while others
can run, yields without that counting as a preemption. Two ways to choose schedules:

- bounded exhaustive (`bound=K`): every schedule with at most K preemptions;
- random (`seed=S`): schedules drawn from seeds S, S+1, ...; a failing seed replays it.

`memory_model="sc"` (the default) is that interleaving over one shared page: sequential
consistency. `memory_model="armv8"` runs the vCPUs under the ARMv8 model of
`ffaemu.analysis.memmodel` instead: loads may be satisfied out of order and stores may become
visible out of order, as far as barriers, acquire/release and dependencies allow; there a
schedule is a set of deviations from the default choices, and the bound counts deviations.

Applied to `asm/el2/xen/*.S` (Xen's per-VM negotiation), each schedule is judged by the
invariants of FFA.md: the VM joins the VM list once, and every vCPU's first other call is
served with the one published version, which some vCPU asked for.
"""
from __future__ import annotations

import ctypes
import itertools
import math
import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, UC_PROT_ALL, Uc, UcError
from unicorn.unicorn_py3.unicorn import uclib as _uclib
from unicorn import arm64_const as uca

from .arch.cpu import Cpu
from .arch.sysregs import DAIF_ALL, mode_bits
from .disasm import disassemble_one
from .errors import FfaemuError
from .loader import Image, load_asm
from .resources import data_dir

ASM = data_dir("asm") / "el2" / "xen"
VARIANTS = {"flag-before-version": "flag_before_version.S", "unlocked-publish": "unlocked_publish.S",
            "fixed": "fixed.S", "version-then-flag": "version_then_flag.S", "posted-fix": "posted_fix.S",
            "flag-acquire": "flag_acquire.S", "flag-dmb-ishld": "flag_dmb_ishld.S"}
MEMORY_MODELS = ("sc", "armv8")
SHARED, SHARED_SIZE = 0x4020_0000, 0x1000
GUEST_VERS, NEGOTIATED, TMP, LOCK, LIST_ADDS, SERVED, REQUESTS = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x20, 0x40
SPIN_LIMIT = 64
MAX_STEPS = 20_000
STOP_NEVER = 0xFFFF_FFFF_FFFF_FFFC
NOT_SUPPORTED = 0xFFFF_FFFF


@dataclass
class Step:
    vcpu: int
    pc: int
    symbol: str | None
    insn: str

    note: str = ""                      # armv8: what the load read / the store did, and why

    def as_json(self) -> dict:
        doc = {"vcpu": self.vcpu, "pc": hex(self.pc), "symbol": self.symbol, "insn": self.insn}
        if self.note:
            doc["note"] = self.note
        return doc


@dataclass
class Outcome:
    trace: list[Step]
    failure: str | None
    preemptions: list[tuple[int, int]] = field(default_factory=list)   # (step, vCPU switched to)
    seed: int | None = None
    schedule: str | None = None          # armv8: the deviations, for --schedule


class _Steps(Sequence):
    """A schedule's trace as (vCPU, PC) pairs, made into `Step`s only when read."""

    def __init__(self, prog: "Program", raw: list[tuple[int, int]]):
        self._prog, self._raw, self._steps = prog, raw, None

    def _built(self) -> list[Step]:
        if self._steps is None:
            describe = self._prog.describe
            self._steps = [Step(v, pc, *describe(pc)) for v, pc in self._raw]
        return self._steps

    def __len__(self) -> int:
        return len(self._raw)

    def __getitem__(self, i):
        return self._built()[i]

    def __eq__(self, other) -> bool:
        return list(self) == list(other)


class Program:
    """The mediator image, and the requests each vCPU makes."""

    def __init__(self, variant: str, vcpus: int = 2):
        if variant not in VARIANTS:
            raise FfaemuError(f"unknown variant '{variant}' (valid: {', '.join(VARIANTS)})")
        if not 2 <= vcpus <= 4:
            raise FfaemuError("the explorer interleaves 2 to 4 vCPUs")
        self.variant = variant
        self.vcpus = vcpus
        source = ASM / VARIANTS[variant]
        if not source.exists():
            raise FfaemuError(f"the explorer needs ffaemu's asm/ directory ({source} is missing: "
                              f"reinstall ffaemu, or run from a checkout)")
        self.image: Image = load_asm(source)
        self.requests = [0x10001 + (v % 2) for v in range(vcpus)]      # 1.1, 1.2, 1.1, ...
        self._text: dict[int, tuple[str | None, str]] = {}

    def describe(self, pc: int) -> tuple[str | None, str]:
        if pc not in self._text:
            seg = self.image.segments[0]
            word = seg.data[pc - seg.addr:pc - seg.addr + 4]
            self._text[pc] = (self.image.symbolize(pc), disassemble_one(word, pc))
        return self._text[pc]


class _Run:
    """One schedule's machines: the program's vCPUs reset, over a cleared shared page.

    The Unicorn instances are made once per program and reset for each schedule (their
    saved initial contexts, and the shared page rewritten), since making one costs more
    than running a schedule. PCs are cached (only the vCPU that stepped moves) and the
    per-step calls go straight to libunicorn: through the binding, reading PCs was most
    of the explorer's time.
    """

    def __init__(self, prog: Program):
        self.prog = prog
        if not hasattr(prog, "_machines"):
            prog._machines = _make_vcpus(prog)
        self.shared, self.ucs, contexts = prog._machines
        ctypes.memset(self.shared, 0, SHARED_SIZE)
        struct.pack_into(f"<{prog.vcpus}I", self.shared, REQUESTS, *prog.requests)
        for uc, ctx in zip(self.ucs, contexts):
            uc.context_restore(ctx)
        self.done = prog.image.symbols["done"]
        self._handles = [uc._uch for uc in self.ucs]
        self._value = ctypes.c_uint64()
        self._value_ref = ctypes.byref(self._value)
        self.pcs = [self._read_pc(v) for v in range(prog.vcpus)]

    def _read_pc(self, v: int) -> int:
        err = _uclib.uc_reg_read(self._handles[v], uca.UC_ARM64_REG_PC, self._value_ref)
        if err:
            raise UcError(err)
        return self._value.value

    def pc(self, v: int) -> int:
        return self.pcs[v]

    def step(self, v: int) -> None:
        err = _uclib.uc_emu_start(self._handles[v], self.pcs[v], STOP_NEVER, 0, 1)
        if err:
            raise UcError(err)
        self.pcs[v] = self._read_pc(v)

    def words(self, off: int, n: int) -> list[int]:
        return list(struct.unpack_from(f"<{n}I", self.shared, off))


def _make_vcpus(prog: Program):
    shared = ctypes.create_string_buffer(SHARED_SIZE)
    seg = prog.image.segments[0]
    ucs, contexts = [], []
    for v in range(prog.vcpus):
        uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        uc.mem_map(seg.addr & ~0xFFF, 0x10000)
        uc.mem_write(seg.addr, seg.data)
        uc.mem_map_ptr(SHARED, SHARED_SIZE, UC_PROT_ALL, ctypes.addressof(shared))
        cpu = Cpu(uc)
        cpu.set_pstate_and_spsr(mode_bits(2, spx=True) | DAIF_ALL, 2, 0)   # the mediator: EL2h
        cpu.set_x(0, v)
        cpu.pc = prog.image.symbols["vcpu_main"]
        ucs.append(uc)
        contexts.append(uc.context_save())
    return shared, ucs, contexts


class _Progress:
    """Where a schedule is: the step about to run, the current vCPU, how long it has run, the
    trace and switches so far, the runnable vCPUs (`_Fork` copies it with the machines)."""
    __slots__ = ("step", "current", "since_switch", "trace", "taken", "runnable")

    def __init__(self, run: _Run):
        self.step, self.current, self.since_switch, self.trace, self.taken = 0, 0, 0, [], []
        self.runnable = [v for v in range(run.prog.vcpus) if run.pcs[v] != run.done]

    def copy(self) -> "_Progress":
        new = _Progress.__new__(_Progress)
        new.step, new.current, new.since_switch = self.step, self.current, self.since_switch
        new.trace, new.taken, new.runnable = self.trace.copy(), self.taken.copy(), self.runnable.copy()
        return new


def run_schedule(prog: Program, preemptions=(), rng: random.Random | None = None) -> Outcome:
    """Run one schedule: `preemptions` (step -> vCPU), or random switches from `rng`."""
    run = _Run(prog)
    return _advance(prog, run, _Progress(run), dict(preemptions), MAX_STEPS, rng)


def _advance(prog: Program, run: _Run, at: _Progress, switches: dict, until: int,
             rng: random.Random | None = None) -> Outcome | None:
    """Run the schedule (`switches`: step -> vCPU, or `rng`) from `at` to its end, or stop at
    the start of step `until` (None; `at` says where)."""
    current, since_switch, trace, taken, runnable = at.current, at.since_switch, at.trace, at.taken, \
        at.runnable
    pcs, done, vcpus = run.pcs, run.done, range(prog.vcpus)
    emu_start, reg_read, handles = _uclib.uc_emu_start, _uclib.uc_reg_read, run._handles
    value, value_ref, reg_pc = run._value, run._value_ref, uca.UC_ARM64_REG_PC
    for step in range(at.step, MAX_STEPS):
        if step == until:                           # runnable changes only when a vCPU reaches done
            at.step, at.current, at.since_switch, at.runnable = step, current, since_switch, runnable
            return None
        if not runnable:
            return Outcome(_Steps(prog, trace), check(prog, run), taken)
        target = switches.get(step)
        if rng is not None and len(runnable) > 1 and rng.random() < 0.15:
            target = rng.choice([v for v in runnable if v != current])
        if target is not None and target != current and target in runnable:
            current, since_switch = target, 0
            taken.append((step, current))
        elif current not in runnable or (since_switch >= SPIN_LIMIT and len(runnable) > 1):
            current = runnable[(runnable.index(current) + 1) % len(runnable)] if current in runnable \
                else runnable[0]
            since_switch = 0
        pc = pcs[current]
        trace.append((current, pc))
        handle = handles[current]                   # run.step(current), inlined: per instruction
        err = emu_start(handle, pc, STOP_NEVER, 0, 1) or reg_read(handle, reg_pc, value_ref)
        if err:
            raise UcError(err)
        pcs[current] = value.value
        if value.value == done:
            runnable = [v for v in vcpus if pcs[v] != done]
        since_switch += 1
    return Outcome(_Steps(prog, trace), f"no progress after {MAX_STEPS} steps (livelock?)", taken)


def check(prog: Program, run) -> str | None:
    """FFA.md's invariants for Xen's per-VM negotiation, or None if they hold."""
    published = run.words(GUEST_VERS, 1)[0]
    adds = run.words(LIST_ADDS, 1)[0]
    served = run.words(SERVED, prog.vcpus)
    if adds != 1:
        return f"the VM was added to the VM list {adds} times (published twice)"
    for v, version in enumerate(served):
        if version != published:
            return (f"vCPU {v} was served with version {version:#x} while the published version "
                    f"is {published:#x} (a stale or torn view of the negotiation)")
    if published not in prog.requests:
        return f"published version {published:#x} is not one any vCPU asked for"
    return None


@dataclass
class Report:
    variant: str
    schedules: int
    failures: int
    first_failure: Outcome | None
    mode: str
    memory_model: str = "sc"
    shard: dict | None = None            # a shard's part of --shard I/N (ffaemu.shard.merge)

    def as_json(self) -> dict:
        first = None
        if self.first_failure is not None:
            f = self.first_failure
            first = {"failure": f.failure, "seed": f.seed,
                     "preemptions": [{"step": s, "vcpu": v} for s, v in f.preemptions],
                     "schedule_id": schedule_id(f),
                     "schedule": [s.as_json() for s in f.trace]}
        doc = {"variant": self.variant, "memory_model": self.memory_model, "mode": self.mode,
               "schedules": self.schedules, "failures": self.failures, "first_failure": first}
        if self.shard is not None:
            doc["shard"] = self.shard
        return doc


def shard_range(start: int, count: int, shard: tuple[int, int]):
    """The part of start..start+count-1 that shard (i, n) runs: every n-th from start+i."""
    return range(start + shard[0], start + count, shard[1])


def explore_bounded(variant: str, bound: int = 2, vcpus: int = 2, memory_model: str = "sc",
                    shard: tuple[int, int] = (0, 1)) -> Report:
    """Every schedule with at most `bound` preemptions (switch steps x target vCPUs);
    `shard` (i, n) runs the i-th of every n of them (ffaemu.shard merges the reports)."""
    if _model(memory_model) == "armv8":
        return _armv8().explore_bounded(Program(variant, vcpus), bound, shard)
    prog = Program(variant, vcpus)
    space = _Schedules(len(run_schedule(prog).trace), vcpus, bound)
    tally = {"schedules": 0, "failures": 0, "first": None, "first_index": None}

    def record(_pre: tuple, index: int, out: Outcome) -> None:
        tally["schedules"] += 1
        if out.failure:
            tally["failures"] += 1
            if tally["first_index"] is None or index < tally["first_index"]:
                tally["first"], tally["first_index"] = out, index
    _run_sharing_prefixes(prog, space, lambda index: index % shard[1] == shard[0], record)
    first, first_index = tally["first"], tally["first_index"]
    report = Report(variant, tally["schedules"], tally["failures"], first,
                    f"bounded, at most {bound} preemptions")
    if shard != (0, 1):
        report.shard = {"index": shard[0], "of": shard[1], "first_index": first_index}
    return report


class _Fork:
    """A schedule's machines and progress, saved where schedules that share it part ways."""

    def __init__(self, run: _Run, at: _Progress):
        self.contexts = [uc.context_save() for uc in run.ucs]
        self.shared, self.pcs, self.at = run.shared.raw, run.pcs.copy(), at.copy()

    def resume(self, run: _Run) -> _Progress:
        for handle, ctx in zip(run._handles, self.contexts):
            err = _uclib.uc_context_restore(handle, ctx.context)
            if err:
                raise UcError(err)
        ctypes.memmove(run.shared, self.shared, SHARED_SIZE)
        run.pcs[:] = self.pcs
        return self.at.copy()


class _Schedules:
    """The bounded search's schedules: up to `bound` preemptions at steps 1..length-1 (rising),
    each to another vCPU than the one running (vCPU 0 first). They are numbered as if
    enumerated by preemption count, then steps (itertools.combinations' order), then targets
    (itertools.product's order), the order shards and the first failure are defined by."""

    def __init__(self, length: int, vcpus: int, bound: int):
        self.n, self.vcpus, self.others, self.bound = length - 1, vcpus, vcpus - 1, bound
        self.offsets = list(itertools.accumulate(
            (math.comb(self.n, k) * self.others ** k for k in range(bound + 1)), initial=0))

    def index(self, pre: tuple) -> int:
        k, n, others = len(pre), self.n, self.others
        steps = targets = 0
        prev_step = prev_target = 0
        for i, (step, target) in enumerate(pre):
            # combinations before this one at position i: first element prev_step+1..step-1
            # (sum of C(n - x, k-1-i) over them, by the hockey-stick identity)
            steps += math.comb(n - prev_step, k - i) - math.comb(n - step + 1, k - i)
            targets = targets * others + target - (prev_target < target)
            prev_step, prev_target = step, target
        return self.offsets[k] + steps * others ** k + targets

    def children(self, pre: tuple, first_step: int = 0):
        """The schedules with one more preemption, by step and target (steps >= first_step)."""
        if len(pre) == self.bound:
            return
        last_step, last_target = pre[-1] if pre else (0, 0)
        for step in range(max(last_step + 1, first_step), self.n + 1):
            for target in range(self.vcpus):
                if target != last_target:
                    yield pre + ((step, target),)

    def subtree(self, pre: tuple, first_step: int = 0):
        for child in self.children(pre, first_step):
            yield child
            yield from self.subtree(child)


def _run_sharing_prefixes(prog: Program, space: _Schedules, wanted, record) -> None:
    """`record(preemptions, index, outcome)` for each schedule of `space` whose index is
    `wanted`, its outcome exactly as `run_schedule` gives it, from fewer instructions: a
    schedule runs as the one without its last preemption up to that step (so do the others
    that share it) and goes on alone from a `_Fork` there."""
    run = _Run(prog)

    def settle(pre: tuple, out: Outcome) -> None:
        index = space.index(pre)
        if wanted(index):
            record(pre, index, out)

    def walk(pre: tuple, at: _Progress) -> None:
        switches, out = dict(pre), None
        kids = {}
        for kid in space.children(pre):            # those with wanted schedules to run
            if len(kid) < space.bound or wanted(space.index(kid)):
                kids.setdefault(kid[-1][0], []).append(kid)
        for step, group in kids.items():
            out = _advance(prog, run, at, switches, step)
            if out is not None:                    # it ended before that step: so do they all
                for kid in space.subtree(pre, step):
                    settle(kid, out)
                break
            fork = _Fork(run, at)
            for kid in group:
                walk(kid, fork.resume(run))
            at = fork.resume(run)
        if out is None:
            out = _advance(prog, run, at, switches, MAX_STEPS)
        settle(pre, out)

    walk((), _Progress(run))


def explore_random(variant: str, seed: int, count: int = 200, vcpus: int = 2,
                   memory_model: str = "sc", shard: tuple[int, int] = (0, 1)) -> Report:
    """`count` random schedules from seeds seed, seed+1, ...; each failure names its seed.
    `shard` (i, n) runs seeds seed+i, seed+i+n, ..."""
    if _model(memory_model) == "armv8":
        return _armv8().explore_random(Program(variant, vcpus), seed, count, shard)
    prog = Program(variant, vcpus)
    failures, first, runs = 0, None, 0
    for s in shard_range(seed, count, shard):
        runs += 1
        out = replay(prog, s)
        if out.failure:
            failures += 1
            first = first or out
    report = Report(variant, runs, failures, first, f"random, seeds {seed}..{seed + count - 1}")
    if shard != (0, 1):
        report.shard = {"index": shard[0], "of": shard[1]}
    return report


def replay(prog: Program | str, seed: int, memory_model: str = "sc") -> Outcome:
    """The schedule of `seed`, exactly."""
    if isinstance(prog, str):
        prog = Program(prog)
    if _model(memory_model) == "armv8":
        return _armv8().replay(prog, seed=seed)
    out = run_schedule(prog, rng=random.Random(seed))
    out.seed = seed
    return out


def replay_schedule(prog: Program, schedule: str, memory_model: str = "sc") -> Outcome:
    """The schedule printed by a bounded search (`schedule_id`), exactly."""
    if _model(memory_model) == "armv8":
        return _armv8().replay(prog, schedule=schedule)
    try:
        pairs = [p.split(":") for p in schedule.split(",")] if schedule.strip() != "-" else []
        preemptions = [(int(s), int(v)) for s, v in pairs]
    except ValueError:
        raise FfaemuError(f"bad schedule '{schedule}' (expected STEP:VCPU,... as printed by explore)") from None
    if any(v >= prog.vcpus or v < 0 or s < 0 for s, v in preemptions):
        raise FfaemuError(f"bad schedule '{schedule}' (vCPUs are 0..{prog.vcpus - 1})")
    return run_schedule(prog, preemptions)


def schedule_id(out: Outcome) -> str:
    """How `--schedule` names a bounded search's schedule (preemptions, or armv8 deviations)."""
    if out.schedule is not None:
        return out.schedule
    return ",".join(f"{s}:{v}" for s, v in out.preemptions) or "-"


def _armv8():
    from .analysis import xen_armv8       # imports this module: loaded on first use
    return xen_armv8


def _model(name: str) -> str:
    if name not in MEMORY_MODELS:
        raise FfaemuError(f"unknown memory model '{name}' (valid: {', '.join(MEMORY_MODELS)})")
    return name


def render(out: Outcome, memory_only: bool = False) -> list[str]:
    """The interleaving, readably: one line per instruction (or per memory event), marking
    every switch."""
    lines, last = [], None
    for step in out.trace:
        if memory_only and not step.note:
            continue
        if step.vcpu != last:
            lines.append(f"--- vCPU {step.vcpu}")
            last = step.vcpu
        where = f"{step.pc:#x}{f' <{step.symbol}>' if step.symbol else ''}"
        lines.append(f"  vCPU {step.vcpu} {where:<30} {step.insn}")
        if step.note:
            lines.append(f"  {'':<37}   -> {step.note}")
    lines.append(f"FAILED: {out.failure}" if out.failure else "all invariants hold")
    for step in out.trace:
        if out.failure and "STALE" in step.note:
            where = f"{step.pc:#x}{f' <{step.symbol}>' if step.symbol else ''}"
            lines.append(f"why: vCPU {step.vcpu}'s `{step.insn}` at {where} {step.note}")
    return lines
