"""Width fuzzing: SMC32 callers must see the same thing whatever fills bits [63:32].

A guest (also usable for any call list: `run_calls`) issues a fixed list of FF-A calls through a hypervisor model to a firmware
model. A drawn `Widths` puts arbitrary bits [63:32] into the guest's SMC32 arguments
(x1-x7, which callees must ignore: DEN0028 §2.6) and makes the firmware fill bits
[63:32] of its SMC32 results with zeros, a sign extension or seeded garbage (all legal).
The guest-visible outcome (the W views of the results, the full X view of SMC64
results such as pKVM's init hypercall, and how the run ends) must equal the reference:
no garbage in, firmware zero-extending. `tests/test_width_fuzz.py` drives it with
hypothesis; a correct stack holds, `pkvm:version-check=u64` does not.
"""
from __future__ import annotations

import functools
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .arch.bits import w
from .assembler import assemble
from .ffa.abi import FfaId
from .ffa.smccc import VendorHyp
from .loader import DEFAULT_BASE, Image, Segment, write_elf
from .runner import build_guest

ARGS = 8                                   # x0-x7 per call
MAX_CALLS = 512
FIRMWARE = ("tfa", "tfa-spmd:spmc=absent", "tfa-spmd", "tfa-el3-spmc", "optee")
HYPERVISORS = ("none", "pkvm", "xen")
UPPERS = ("zero", "sign", "garbage")

GUEST = f"""
_start:
    adr x19, calls
    adr x20, results
    adr x21, count
    ldr x21, [x21]
1:  ldp x0, x1, [x19], #16
    ldp x2, x3, [x19], #16
    ldp x4, x5, [x19], #16
    ldp x6, x7, [x19], #16
    ldr x22, [x19], #8
    cbnz x22, 2f
    smc #0
    b 3f
2:  hvc #0
3:  stp x0, x1, [x20], #16
    stp x2, x3, [x20], #16
    stp x4, x5, [x20], #16
    stp x6, x7, [x20], #16
    subs x21, x21, #1
    b.ne 1b
    ldr x0, =0x84000008             // PSCI SYSTEM_OFF
    smc #0
    b .
    .balign 8
count:   .quad 0
calls:   .space {8 * (ARGS + 1) * MAX_CALLS}
results: .space {8 * ARGS * MAX_CALLS}
"""

# (fid, args x1-x7) - the SMC32 calls' x1-x7 get the drawn upper halves.
CALLS = [
    (FfaId.FFA_VERSION, (0x10002, 0, 0, 0, 0, 0, 0)),
    (FfaId.FFA_ID_GET, (0, 0, 0, 0, 0, 0, 0)),
    (FfaId.FFA_FEATURES, (FfaId.FFA_RXTX_MAP_64, 0, 0, 0, 0, 0, 0)),
    (FfaId.FFA_PARTITION_INFO_GET, (0, 0, 0, 0, 1, 0, 0)),    # count only
    (FfaId.FFA_MSG_SEND_DIRECT_REQ, (0x8001, 0, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555)),
    (FfaId.FFA_VERSION, (0x10001, 0, 0, 0, 0, 0, 0)),         # after negotiation
]


@dataclass(frozen=True)
class Widths:
    """What fills bits [63:32]: of each SMC32 argument (`inputs`), and of the firmware's
    SMC32 results (`upper`, with `seed` for garbage)."""

    inputs: tuple[int, ...] = ()
    upper: str = "zero"
    seed: int = 0


@functools.lru_cache(maxsize=1)
def _guest() -> tuple[Path, int, int, int]:
    a = assemble(GUEST, DEFAULT_BASE, "<width fuzz guest>")
    path = Path(tempfile.mkdtemp(prefix="ffaemu-widthfuzz-")) / "guest.elf"
    write_elf(path, Image([Segment(DEFAULT_BASE, a.code)], DEFAULT_BASE, a.labels))
    return path, a.labels["count"], a.labels["calls"], a.labels["results"]


def _calls(el2: str) -> list[tuple[int, tuple[int, ...], bool]]:
    calls = [(fid, args, True) for fid, args in CALLS]
    if el2.split(":")[0] == "pkvm":                            # its init hypercall, SMC64
        calls.insert(0, (VendorHyp.PKVM_INIT, (0,) * 7, False))
    return calls


def run_calls(el3: str, el2: str, calls, upper: str = "real", seed: int = 0):
    """Boot the call-table guest under the models and issue `calls`, each (x0-x7 values,
    via HVC?); return (RunResult, GuestRun, [x0-x7 as the guest got them, per call])."""
    if len(calls) > MAX_CALLS:
        raise ValueError(f"at most {MAX_CALLS} calls per run, not {len(calls)}")
    path, count_at, calls_at, results_at = _guest()
    table = b"".join(struct.pack("<9Q", *(list(regs) + [0] * 8)[:8], int(hvc)) for regs, hvc in calls)
    setup = build_guest(path, el3, el2, fw_upper=upper, seed=seed, max_insns=1_000_000)
    mem = setup.machine.memory
    mem.write(count_at, struct.pack("<Q", len(calls)))
    mem.write(calls_at, table)
    run = setup.run()
    raw = mem.read(results_at, 8 * ARGS * len(calls))
    regs = [struct.unpack_from("<8Q", raw, 8 * ARGS * i) for i in range(len(calls))]
    return run.result, run, regs


def outcome(el3: str, el2: str, widths: Widths = Widths()) -> tuple:
    """The guest-visible result of the call list under `widths`."""
    calls = _calls(el2)
    inputs = list(widths.inputs)
    table = []
    for fid, args, smc32 in calls:
        regs = [fid]
        for a in args:
            upper = inputs.pop(0) if (smc32 and inputs) else 0
            regs.append(a | (upper & 0xFFFF_FFFF) << 32)
        table.append((regs, not smc32))
    res, _, results = run_calls(el3, el2, table, widths.upper, widths.seed)
    seen = [tuple(w(r) for r in regs) if smc32 else regs
            for regs, (_, _, smc32) in zip(results, calls)]
    return res.reason.value, tuple(seen)


def differs(el3: str, el2: str, widths: Widths) -> bool:
    """True when `widths` changes what the guest sees (a width bug in the stack)."""
    return outcome(el3, el2, widths) != outcome(el3, el2)
