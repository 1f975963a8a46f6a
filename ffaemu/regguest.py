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
MAX_CALLS = 512
SENTINEL = 0x5E5E_0000_0000_0000          # x(n) = SENTINEL | n unless a call names it
BUFFERS = DEFAULT_BASE + 0x10_0000        # guest RAM for RX/TX pairs and shared pages

_LOADS = "\n".join(f"    ldp x{n}, x{n + 1}, [x19], #16" for n in range(0, REGS, 2))
_STORES = "\n".join(f"    stp x{n}, x{n + 1}, [x20], #16" for n in range(0, REGS, 2))
# Each table row: via HVC (1) or SMC (0), then x0-x17. `done` counts the calls that
# returned (a call that never returns leaves it short). The width fuzzer runs it too.
GUEST = f"""
_start:
    adr x19, calls
    adr x20, results
    adr x21, count
    ldr x21, [x21]
    cbz x21, 4f
1:  ldr x22, [x19], #8                 // 1: HVC, 0: SMC
{_LOADS}
    cbnz x22, 2f
    smc #0
    b 3f
2:  hvc #0
3:
{_STORES}
    adr x23, done                   // calls completed (a call that never returns: fewer)
    ldr x24, [x23]
    add x24, x24, #1
    str x24, [x23]
    subs x21, x21, #1
    b.ne 1b
4:  ldr x0, =0x84000008             // PSCI SYSTEM_OFF
    smc #0
    b .
    .balign 8
count:   .quad 0
done:    .quad 0
calls:   .space {8 * (REGS + 1) * MAX_CALLS}
results: .space {8 * REGS * MAX_CALLS}
"""


@functools.lru_cache(maxsize=1)
def guest() -> tuple[Path, int, int, int, int]:
    """The guest's ELF and the addresses of count, calls, results and done."""
    a = assemble(GUEST, DEFAULT_BASE, "<18-register call table guest>")
    path = Path(tempfile.mkdtemp(prefix="ffaemu-regguest-")) / "guest.elf"
    write_elf(path, Image([Segment(DEFAULT_BASE, a.code)], DEFAULT_BASE, a.labels))
    return path, a.labels["count"], a.labels["calls"], a.labels["results"], a.labels["done"]


def load_table(mem, calls) -> None:
    """Put `calls` [(x0.. values, up to x17, via HVC?)] into a booted guest's memory."""
    if len(calls) > MAX_CALLS:
        raise ValueError(f"at most {MAX_CALLS} calls per run, not {len(calls)}")
    _, count_at, calls_at, _, _ = guest()
    table = b"".join(struct.pack(f"<{REGS + 1}Q", int(hvc), *(list(regs) + [0] * REGS)[:REGS])
                     for regs, hvc in calls)
    mem.write(count_at, struct.pack("<Q", len(calls)))
    mem.write(calls_at, table)


def read_results(mem, count: int) -> list[list[int]]:
    """x0-x17 as the guest saw them after each of the first `count` calls."""
    results_at = guest()[3]
    raw = mem.read(results_at, 8 * REGS * count)
    return [list(struct.unpack_from(f"<{REGS}Q", raw, 8 * REGS * i)) for i in range(count)]


def calls_done(mem) -> int:
    return struct.unpack("<Q", mem.read(guest()[4], 8))[0]


def sentinels(*values: int, **named: int) -> list[int]:
    """x0-x17: `values` from x0 up, `x5=...` by name, the rest SENTINEL | n."""
    regs = [SENTINEL | n for n in range(REGS)]
    regs[:len(values)] = values
    for name, value in named.items():
        regs[int(name[1:])] = value
    return regs


def run_table(el3: str, el2: str, calls, memory: dict[int, bytes] | None = None,
              upper: str = "real"):
    """Run `calls` [(x0-x17, via HVC?)]; return (GuestRun, [x0-x17 after each call])."""
    if not calls:
        raise ValueError(f"1..{MAX_CALLS} calls per run, not 0")
    setup = build_guest(guest()[0], el3, el2, fw_upper=upper, max_insns=2_000_000)
    mem = setup.machine.memory
    load_table(mem, calls)
    for addr, blob in (memory or {}).items():
        mem.write(addr, blob)
    run = setup.run()
    return run, read_results(mem, len(calls))
