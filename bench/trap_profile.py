"""Where a trap's microseconds go (issue 13's lean trap path), measured in one run.

`python bench/trap_profile.py` prints, in CPU microseconds per trap:
1. the bare EL2 handler's loop (bench/speed.py `bare_handler`) as it runs, the same loop
   with the collector off (the difference is its share), and with the Python side cut to
   the minimum (the shared words unpacked, x0 and PC written back): the difference is
   ffaemu's Python work, the rest is Unicorn, the C hook and the ctypes crossing;
2. ffaemu's Python work per trap for the three paths of bench/speed.py (bare handler,
   pKVM FFA_VERSION, pKVM -> TF-A SPMD FFA_ID_GET), calling `Machine._on_model_trap`
   directly with the words the C hook would pass (no emulation);
3. the pieces of those paths, each timed alone on the real objects (timeit, best of 5).
The sum of the pieces falls short of (2) by the calls between them and the garbage
collector's share.
"""
from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import speed  # noqa: E402

from ffaemu import machine as machine_mod  # noqa: E402
from ffaemu.gcpolicy import RunPace  # noqa: E402
from ffaemu.loader import load_elf  # noqa: E402
from ffaemu.native import RES_MASK, RES_PC, RES_VALID, TRAP_INFO, TRAP_PC, write_pos  # noqa: E402
from ffaemu.runner import build_guest  # noqa: E402
from ffaemu.trap import Forward, Trap  # noqa: E402

N = 20_000
HYP_TRAP = 12                         # Unicorn's intno for an SMC trapped by HCR_EL2.TSC
# The words fastpath.c model_trap passes for `smc #0` at EL1 trapped to EL2 (HCR_EL2.TSC).
PC, PSTATE_EL1H, SCR, HCR, SMC0 = 0x4010_0010, 0x3C5, 0x501, 0x8008_0000, 0xD400_0003
INFO = 1 | (2 << 8) | (0x17 << 16) | (HYP_TRAP << 24)       # from EL1, to EL2, EC SMC64
ESR = (0x17 << 26) | (1 << 25)


def trap_words(x0: int, x1: int = 0) -> tuple[int, ...]:
    """The words as native.py hands them to `_on_model_trap` (a tuple)."""
    return (x0, x1) + (0,) * 16 + (PC, PSTATE_EL1H, SCR, HCR, SMC0, INFO, ESR, 0)


def _minimal(real):
    """Machine._on_model_trap reduced to answering x0 = 0 (SYSTEM_OFF still goes to `real`)."""
    def answer(self, t):
        if t[0] & 0xFFFF_FFFF == speed.PSCI_SYSTEM_OFF:
            return real(self, t)
        res = self.native._res
        res[0], res[RES_MASK] = 0, RES_VALID | 1
        res[RES_PC] = t[TRAP_PC] + (4 if t[TRAP_INFO] >> 24 == HYP_TRAP else 0)
    return answer


def crossing(tmp: Path) -> tuple[float, float, float]:
    """(full, collector off, minimal) CPU microseconds per bare trap in a real run, medians of 5."""
    rate = lambda: statistics.median(speed.cpu_rate(lambda n: speed.bare_handler(tmp, n),  # noqa: E731
                                                    2_000, 20_000) for _ in range(5))
    full = rate()
    gc.disable()
    try:
        no_gc = rate()
    finally:
        gc.enable()
    real = machine_mod.Machine._on_model_trap
    machine_mod.Machine._on_model_trap = _minimal(real)
    try:
        minimal = rate()
    finally:
        machine_mod.Machine._on_model_trap = real
    return 1e6 / full, 1e6 / no_gc, 1e6 / minimal


def bare_machine(tmp: Path):
    m = machine_mod.Machine()
    image = m.load(load_elf(speed._loop_elf(tmp, 1, speed.FFA_ID_GET)))

    def answer(trap):
        if trap.w(0) == speed.PSCI_SYSTEM_OFF:
            return trap.stop("system-off")
        return trap.ret(0)
    m.boot_guest(image.entry, el2=answer, traps_smc=True)
    return m


def model_machine(tmp: Path):
    """pKVM over TF-A SPMD after the guest's init hypercall and FFA_VERSION (negotiated)."""
    setup = build_guest(speed._loop_elf(tmp, 0, speed.FFA_ID_GET), "tfa-spmd", "pkvm")
    setup.run()
    setup.machine._stop = None
    return setup.machine


def python_per_trap(m, words: list[int]) -> float:
    m.max_insns = 1 << 60
    on_trap = m._on_model_trap
    best = float("inf")
    for _ in range(5):
        with RunPace():
            t0 = time.process_time()
            for _ in range(N):
                on_trap(words)
            best = min(best, (time.process_time() - t0) / N * 1e6)
    return best


def piece(fn, n: int = N) -> float:
    return min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e6


def main() -> int:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        full, no_gc, minimal = crossing(tmp)
        print("1. bare EL2 handler loop, real run (CPU us per trap, median of 5)")
        print(f"   whole trap {full:6.2f}   collector off {no_gc:6.2f}   Python cut to the minimum "
              f"{minimal:6.2f}")
        print(f"   => Unicorn + C hook + crossing {minimal:6.2f}, ffaemu's Python work "
              f"{no_gc - minimal:6.2f}, the collector {full - no_gc:6.2f}")
        bare, pk = bare_machine(tmp), model_machine(tmp)   # pk: for the pieces below
        print("2. ffaemu's Python work per trap, _on_model_trap called directly (best of 5)")
        for label, m, words in (("bare handler", bare, trap_words(speed.FFA_ID_GET)),
                                ("pKVM FFA_VERSION", model_machine(tmp), trap_words(speed.FFA_VERSION, 0x10002)),
                                ("pKVM -> TF-A SPMD FFA_ID_GET", model_machine(tmp), trap_words(speed.FFA_ID_GET))):
            print(f"   {label:<30} {python_per_trap(m, words):6.2f}")
        print("3. pieces, each alone (timeit, best of 5)")
        xs = list(trap_words(speed.FFA_ID_GET)[:18])
        route_args = (HYP_TRAP, PSTATE_EL1H, PC, SMC0, SCR, HCR)
        lazy = lambda m: Trap.lazy(0x17, ESR, 1, 2, list(xs), PC, m.memory, route_args)  # noqa: E731
        t = lazy(bare)
        calls = bare.calls

        log = calls._log

        def call_record():            # as _on_model_trap keeps a call answered at once
            entry = [1, 2, "x", xs, None, None, 0, None]
            log.append(entry)
            entry[4] = (0,)
        handler, res = bare._handlers[2], bare.native._res
        fw, hyp = pk._handlers[3], pk._handlers[2]
        r = machine_mod.FORWARD_ROUTING
        t3 = Trap(r, machine_mod.FORWARD_SPSR, list(xs), machine_mod.TRAMPOLINE, pk.memory,
                  machine_mod.FORWARD_ESR)
        tv = Trap.lazy(0x17, ESR, 1, 2, trap_words(speed.FFA_VERSION, 0x10002)[:18], PC, pk.memory,
                       route_args)
        eighteen = tuple(xs)
        pk.max_insns = 1 << 60
        rows = [("Trap.lazy (the trap object)", piece(lambda: lazy(bare))),
                ("call record, kept with its answer", piece(call_record)),
                ("bare handler: trap.w(0), trap.ret(0)", piece(lambda: handler(t))),
                ("answer written (write_pos), x0 only", piece(lambda: write_pos(res, (0,), PC))),
                ("answer written (write_pos), x0-x17", piece(lambda: write_pos(res, eighteen, PC))),
                ("pKVM FFA_VERSION handler (negotiated)", piece(lambda: hyp(tv))),
                ("pKVM pass-through handler (returns trap.forward())", piece(lambda: hyp(lazy(pk)))),
                ("TF-A SPMD model, FFA_ID_GET (Firmware.__call__)", piece(lambda: fw(t3))),
                ("  of which BL31 dispatch + SPMD (bl31.smc)", piece(lambda: fw.bl31.smc(xs, pk.memory))),
                ("  of which the SPMD (Spmd.smc)", piece(lambda: fw.spmd.smc(speed.FFA_ID_GET, xs, pk.memory))),
                ("forward to the Python EL3 model, incl. the model",
                 piece(lambda: pk._forward_to_python(Forward(None, eighteen))))]
        for label, us in rows:
            print(f"   {label:<52} {us:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
