"""Width and register-rule fuzzing: what a caller sees must follow SMCCC v1.2 and FF-A,
whatever fills the registers a callee must ignore.

A guest (also usable for any call list: `run_calls`) issues a drawn sequence of calls
(`POOL`) through a hypervisor model to a firmware model. A `Case` puts arbitrary bits
[63:32] into every SMC32 argument (x0-x7: only W0-W7 are significant, DEN0028C §2.6),
arbitrary values into x8-x17 of every call, and makes the firmware fill bits [63:32] of
its SMC32 results with zeros, a sign extension or seeded garbage (all legal). Then:

- every answer, at every layer (each Python model's record, the harness delivering the
  top answer to the guest, and the guest's own view), goes through the SMCCC v1.2 /
  FF-A checker (`ffa/smccc_rules.py`), and so does each direct message's payload where
  the firmware hands it to a partition and back;
- the guest-visible outcome (W views of SMC32 results, full X views of SMC64 results,
  how the run ends) must equal the reference run: no garbage in, x8-x17 of SMC32 calls
  zero, firmware zero-extending.

`problems()` lists both kinds of failure; `tests/test_width_fuzz.py` drives it with
hypothesis, which shrinks a failing case to its fewest calls.
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from .arch.bits import w
from .ffa.abi import FfaId, id_name, is_smc64
from .ffa.conv import Conv, Reply, UpperPolicy
from .ffa.smccc import VendorHyp
from .ffa.smccc_rules import (SMCCC_REGS, Violation, call_name, check, check_deliveries,
                               check_delivery, check_records, response_is_smc64, result_view)
from .models.fw.base import Firmware
from .regguest import MAX_CALLS, calls_done, guest, load_table, read_results
from .runner import build_guest

ARGS = SMCCC_REGS                          # x0-x17 per call
SMC32_ARGS = 8                             # x0-x7: the W registers of an SMC32 call
FIRMWARE = ("tfa", "tfa-spmd:spmc=absent", "tfa-spmd", "tfa-el3-spmc", "optee")
HYPERVISORS = ("none", "pkvm", "xen")
UPPERS = ("zero", "sign", "garbage")

# pKVM's init hypercall (SMC64, vendor hypervisor), made first in every run under pKVM.
PKVM_INIT = (VendorHyp.PKVM_INIT, (0,) * 7, True)
# The calls a case draws from: name -> (x0, x1-x7, via HVC). x8-x17 come from the case.
POOL = {
    "version-1.2": (FfaId.FFA_VERSION, (0x10002, 0, 0, 0, 0, 0, 0), False),
    "version-1.1": (FfaId.FFA_VERSION, (0x10001, 0, 0, 0, 0, 0, 0), False),
    "id-get": (FfaId.FFA_ID_GET, (0,) * 7, False),
    "spm-id-get": (FfaId.FFA_SPM_ID_GET, (0,) * 7, False),
    "features-rxtx-map": (FfaId.FFA_FEATURES, (FfaId.FFA_RXTX_MAP_64, 0, 0, 0, 0, 0, 0), False),
    "partition-count": (FfaId.FFA_PARTITION_INFO_GET, (0, 0, 0, 0, 1, 0, 0), False),
    "direct-req": (FfaId.FFA_MSG_SEND_DIRECT_REQ, (0x8001, 0, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555), False),
    "direct-req2": (FfaId.FFA_MSG_SEND_DIRECT_REQ2, (0x8001, 0, 0, 0x4444, 0x5555, 0x6666, 0x7777), False),
}
# The seed list: what `Case()` runs (after pKVM's init hypercall, under pKVM).
DEFAULT_CALLS = ("version-1.2", "id-get", "features-rxtx-map", "partition-count",
                 "direct-req", "version-1.1")


@dataclass(frozen=True)
class Case:
    """A call sequence and what fills the registers callees must not depend on:
    `inputs` are bits [63:32] of each SMC32 argument x0-x7 in turn, `high` are x8-x17 of
    each call in turn (missing values are 0), `upper`/`seed` the firmware's SMC32 result
    widths (`--fw-upper`)."""

    calls: tuple[str, ...] = DEFAULT_CALLS
    inputs: tuple[int, ...] = ()
    high: tuple[int, ...] = ()
    upper: str = "zero"
    seed: int = 0
    upper_on: tuple[str, ...] | None = None   # where `upper` reaches (see _aim_upper)

    def reference(self, el2: str) -> "Case":
        """No garbage in; x8-x17 kept only where an SMC64 call may read them; zero-extending."""
        high, keep = list(self.high), []
        for fid, _, _ in _regs_of(self, el2):
            chunk = [high.pop(0) if high else 0 for _ in range(ARGS - SMC32_ARGS)]
            keep += chunk if is_smc64(fid) else [0] * len(chunk)
        return Case(self.calls, (), tuple(keep), "zero", 0, None)


def _regs_of(case: Case, el2: str):
    """(x0, x1-x7, hvc) of each call the case makes under `el2`, after pKVM's init
    hypercall under pKVM."""
    first = [PKVM_INIT] if el2.split(":")[0] == "pkvm" else []
    return first + [POOL[n] for n in case.calls]


def _table(case: Case, el2: str) -> list[tuple[list[int], bool]]:
    inputs, high, table = list(case.inputs), list(case.high), []
    for fid, args, hvc in _regs_of(case, el2):
        regs = [fid, *args]
        if not is_smc64(fid):
            regs = [v | (inputs.pop(0) & 0xFFFF_FFFF if inputs else 0) << 32 for v in regs]
        regs += [high.pop(0) if high else 0 for _ in range(ARGS - SMC32_ARGS)]
        table.append((regs, hvc))
    return table


MAX_BOOTED = 16                            # booted machines kept for reuse (one per stack)
_booted: dict[tuple, object] = {}


def _setup(el3: str, el2: str, upper: str, seed: int, upper_on, trace, reuse: bool):
    """The guest booted under the models: built fresh, or (`reuse`, no trace) a machine
    booted once per stack and restored from its snapshot (Machine.snapshot)."""
    if trace is not None or not reuse:
        setup = build_guest(guest()[0], el3, el2, fw_upper=upper, seed=seed, max_insns=1_000_000,
                            trace=trace)
        if isinstance(setup.firmware, Firmware):
            setup.firmware.ffa.deliveries = []       # what the partitions receive, checked
            if upper_on is not None:
                _aim_upper(setup.firmware, upper_on)
        return setup
    key = (el3, el2, upper, upper_on)
    setup = _booted.pop(key, None)
    if setup is None:
        setup = _setup(el3, el2, upper, 0, upper_on, None, False)
        setup.machine.snapshot()
    else:
        setup.machine.restore()
    if isinstance(setup.firmware, Firmware):
        setup.firmware.rng = random.Random(seed)     # as Firmware(seed=seed) starts it
    _booted[key] = setup                             # most recently used last
    while len(_booted) > MAX_BOOTED:
        _booted.pop(next(iter(_booted)))
    return setup


def run_calls(el3: str, el2: str, calls, upper: str = "real", seed: int = 0,
              upper_on: tuple[str, ...] | None = None, trace=None, prepare=None,
              reuse: bool = True):
    """Boot the call-table guest under the models and issue `calls`, each (x0.. values, up
    to x17; via HVC?); return (RunResult, GuestRun, [x0-x17 as the guest got them, per call
    that returned]).
    `upper_on` limits where `upper` reaches (see `_aim_upper`); `prepare(machine)` runs
    before the guest does (e.g. to put a memory descriptor in its TX buffer). With
    `reuse` (and no trace) the booted machine of an earlier run of the same stack is
    restored from its snapshot instead of built again: same results, byte for byte."""
    setup = _setup(el3, el2, upper, seed, upper_on, trace, reuse)
    mem = setup.machine.memory
    load_table(mem, calls)
    if prepare is not None:
        prepare(setup.machine)
    run = setup.run()
    regs = read_results(mem, min(calls_done(mem), len(calls)))
    return run.result, run, regs


def _aim_upper(fw: Firmware, funcs: tuple[str, ...]) -> None:
    """Let `--fw-upper` reach only x1-x7 of the answers to the named functions (e.g.
    "FFA_FEATURES"), every other register being filled as modelled: a firmware that
    extends one result oddly. pKVM (v6.18) and Xen (4.22) compare some results (x0 with
    FFA_SUCCESS; pKVM also x2 of FFA_ID_GET) as 64-bit values, relying on the
    zero-extension every real SPMD and SPMC gives: a search can aim past those."""
    handle, fill, fill_answer, current = fw.handle, fw.fill, fw.fill_answer, [None]

    def handle_noting_the_call(call, mem):
        current[0] = id_name(call.fid)
        return handle(call, mem)

    def pick(policy_values: dict, real_values: dict) -> dict:
        aimed = current[0] in funcs
        return {n: policy_values[n] if aimed and 1 <= n < SMC32_ARGS else real_values[n]
                for n in policy_values}

    def aimed_fill(reply, conv=Conv.SMC32):
        out = fill(reply, conv)
        if isinstance(reply, Reply):
            real = reply.registers(UpperPolicy.REAL) + out[len(reply.registers(UpperPolicy.REAL)):]
            got = pick(dict(enumerate(out)), dict(enumerate(real)))
            return [got[n] for n in range(len(out))]
        return out

    def aimed_fill_answer(answer, conv=Conv.SMC32):
        return pick(fill_answer(answer, conv), answer.values)

    fw.handle, fw.fill, fw.fill_answer = handle_noting_the_call, aimed_fill, aimed_fill_answer


@dataclass
class Observed:
    """One run of a case: the guest-visible outcome and every rule violation."""

    outcome: tuple
    violations: list[Violation]


def _deviations(run) -> dict[str, dict]:
    models = [m for m in (run.firmware, run.hypervisor) if hasattr(m, "name")]
    return {m.name: dict(getattr(m, "smccc_deviations", {}) or {}) for m in models}


def observe(el3: str, el2: str, case: Case = Case()) -> Observed:
    """Run `case` and check every layer's answers against the register rules."""
    table = _table(case, el2)
    res, run, results = run_calls(el3, el2, table, case.upper, case.seed, case.upper_on)
    devs = _deviations(run)
    every = {k: v for d in devs.values() for k, v in d.items()}
    records = run.machine.calls.records
    violations = check_records(records, devs)
    if isinstance(run.firmware, Firmware):       # the payload at the partitions behind it
        violations += check_deliveries(run.firmware.ffa.deliveries, f"EL3 {run.firmware.name}")
    top = [r for r in records if r.depth == 0 and r.ret_full is not None]
    for (args, _), got, rec in zip(table, results, top if len(top) == len(table) else []):
        violations += check_delivery(call_name(args[0]), rec.ret_full, got)
    for (args, _), got in zip(table, results):
        violations += check(args, got, "guest view", every)
    seen = tuple(_visible(args[0], got) for (args, _), got in zip(table, results))
    return Observed((res.reason.value, seen), violations)


def _visible(fid: int, got: list[int]) -> tuple:
    """What a correct caller reads: W views of an SMC32 response's x0-x7, X views of an
    SMC64 one's x0-x17 (x8-x17 of an SMC32 call are checked by the rules instead)."""
    if not response_is_smc64(fid, got):
        return tuple(w(r) for r in got[:SMC32_ARGS])
    view = result_view(fid, got)
    return tuple(view(r) for r in got[:SMC32_ARGS]) + tuple(got[SMC32_ARGS:])


def outcome(el3: str, el2: str, case: Case = Case()) -> tuple:
    """The guest-visible result of `case`."""
    return observe(el3, el2, case).outcome


def problems(el3: str, el2: str, case: Case) -> list[str]:
    """Why `case` fails: undeclared rule violations, or a guest-visible difference from
    the reference run. Empty for a correct stack."""
    seen = observe(el3, el2, case)
    out = [str(v) for v in seen.violations if not v.declared]
    ref = _reference(el3, el2, case.reference(el2))
    if seen.outcome != ref:
        out.append(f"guest view differs from the reference run: {_first_difference(ref, seen.outcome)}")
    return out


@functools.lru_cache(maxsize=4096)
def _reference(el3: str, el2: str, case: Case) -> tuple:
    """The reference outcome (a search re-runs the same reference many times)."""
    return observe(el3, el2, case).outcome


def forget() -> None:
    """Drop the booted machines and cached reference outcomes: what follows runs as in a
    fresh process (a search's result then cannot depend on what ran before it)."""
    _booted.clear()
    _reference.cache_clear()


def _first_difference(ref: tuple, got: tuple) -> str:
    if ref[0] != got[0]:
        return f"run ended {got[0]} instead of {ref[0]}"
    for i, (a, b) in enumerate(zip(ref[1], got[1])):
        if a != b:
            n = next(k for k, (p, q) in enumerate(zip(a, b)) if p != q)
            return f"call {i} register {n}: {b[n]:#x} instead of {a[n]:#x}"
    return "different number of calls"


def differs(el3: str, el2: str, case: Case) -> bool:
    """True when `case` shows a width or register-rule bug in the stack."""
    return bool(problems(el3, el2, case))


__all__ = ["Case", "MAX_CALLS", "POOL", "DEFAULT_CALLS", "observe", "outcome", "problems", "differs",
           "run_calls", "forget", "FIRMWARE", "HYPERVISORS", "UPPERS"]
