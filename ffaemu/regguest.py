"""A guest that issues a table of calls with all of x0-x17 set and records x0-x17 after
each (SMCCC v1.2, DEN0028 §2.6: x1-x17 carry arguments, x0-x17 results), so what each
layer preserves, zeroes or writes is visible register by register.

`run_table(el3, el2, calls, memory=...)`: each call is (x0-x17 values, via HVC?); the
result is the 18 registers as the guest saw them after each call. `memory` is written
before the run (RX/TX buffers, memory transaction descriptors).
"""
from __future__ import annotations

import functools
import struct
import tempfile
from pathlib import Path

from .assembler import assemble
from .loader import DEFAULT_BASE, Image, Segment, write_elf
from .runner import build_guest

REGS = 18
MAX_CALLS = 64
SENTINEL = 0x5E5E_0000_0000_0000          # x(n) = SENTINEL | n unless a call names it
BUFFERS = DEFAULT_BASE + 0x10_0000        # guest RAM for RX/TX pairs and shared pages

_LOAD = "\n".join(f"    ldp x{n}, x{n + 1}, [x19], #16" for n in range(0, REGS, 2))
_STORE = "\n".join(f"    stp x{n}, x{n + 1}, [x20], #16" for n in range(0, REGS, 2))
GUEST = f"""
_start:
    adr x19, calls
    adr x20, results
    adr x21, count
    ldr x21, [x21]
1:
{_LOAD}
    ldr x22, [x19], #8
    cbnz x22, 2f
    smc #0
    b 3f
2:  hvc #0
3:
{_STORE}
    subs x21, x21, #1
    b.ne 1b
    ldr x0, =0x84000008             // PSCI SYSTEM_OFF
    smc #0
    b .
    .balign 8
count:   .quad 0
calls:   .space {8 * (REGS + 1) * MAX_CALLS}
results: .space {8 * REGS * MAX_CALLS}
"""


def sentinels(*values: int, **named: int) -> list[int]:
    """x0-x17: `values` from x0 up, `x5=...` by name, the rest SENTINEL | n."""
    regs = [SENTINEL | n for n in range(REGS)]
    regs[:len(values)] = values
    for name, value in named.items():
        regs[int(name[1:])] = value
    return regs


@functools.lru_cache(maxsize=1)
def _guest() -> tuple[Path, int, int, int]:
    a = assemble(GUEST, DEFAULT_BASE, "<18-register call table guest>")
    path = Path(tempfile.mkdtemp(prefix="ffaemu-regguest-")) / "guest.elf"
    write_elf(path, Image([Segment(DEFAULT_BASE, a.code)], DEFAULT_BASE, a.labels))
    return path, a.labels["count"], a.labels["calls"], a.labels["results"]


def run_table(el3: str, el2: str, calls, memory: dict[int, bytes] | None = None,
              upper: str = "real"):
    """Run `calls` [(x0-x17, via HVC?)]; return (GuestRun, [x0-x17 after each call])."""
    if not 1 <= len(calls) <= MAX_CALLS:
        raise ValueError(f"1..{MAX_CALLS} calls per run, not {len(calls)}")
    path, count_at, calls_at, results_at = _guest()
    table = b"".join(struct.pack(f"<{REGS + 1}Q", *regs, int(hvc)) for regs, hvc in calls)
    setup = build_guest(path, el3, el2, fw_upper=upper, max_insns=2_000_000)
    mem = setup.machine.memory
    mem.write(count_at, struct.pack("<Q", len(calls)))
    mem.write(calls_at, table)
    for addr, blob in (memory or {}).items():
        mem.write(addr, blob)
    run = setup.run()
    raw = mem.read(results_at, 8 * REGS * len(calls))
    return run, [list(struct.unpack_from(f"<{REGS}Q", raw, 8 * REGS * i)) for i in range(len(calls))]
