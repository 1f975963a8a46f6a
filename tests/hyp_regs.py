"""Shared helpers for the hypervisor register tables (test_pkvm_regs.py, test_xen_regs.py)."""
from __future__ import annotations

from ffaemu.ffa import memdesc
from ffaemu.regguest import BUFFERS, REGS, SENTINEL, run_table, sentinels

MASK64 = 0xFFFF_FFFF_FFFF_FFFF
TX, RX, SHARED = BUFFERS, BUFFERS + 0x1000, BUFFERS + 0x2000
FFA_ERROR, FFA_SUCCESS, FFA_SUCCESS_64 = 0x8400_0060, 0x8400_0061, 0xC400_0061
NS_W, INVAL_W, BUSY_W, DENIED_W, NOMEM_W = 0xFFFF_FFFF, 0xFFFF_FFFE, 0xFFFF_FFFC, 0xFFFF_FFFA, 0xFFFF_FFFD


def sext(w: int) -> int:
    return w | 0xFFFF_FFFF_0000_0000 if w >> 31 else w


def smc(*values: int, **named: int):
    return sentinels(*values, **named), False


def hvc(*values: int, **named: int):
    return sentinels(*values, **named), True


def R(*head: int, rest: str = "zero", kept_from: int = 8) -> list[int]:
    """Expected x0-x17: `head` from x0; then zeros up to x(kept_from - 1); from there
    zeros (`rest="zero"`) or the guest's own sentinels (`rest="kept"`)."""
    out = list(head) + [0] * (REGS - len(head))
    if rest == "kept":
        for n in range(max(len(head), kept_from), REGS):
            out[n] = SENTINEL | n
    return out


def KEPT(*head: int) -> list[int]:
    """x0.. from `head`, every other register the guest's sentinel (nothing written)."""
    return list(head) + [SENTINEL | n for n in range(len(head), REGS)]


def descriptor(sender: int = 0, receiver: int = 0x8001, address: int = SHARED, pages: int = 1,
               perms: int = 0x6) -> bytes:
    return memdesc.build(sender, receiver, address, pages, perms)


def last(el3: str, el2: str, calls, memory=None) -> list[int]:
    run, results = run_table(el3, el2, calls, memory)
    assert run.result.reason.value == "system-off", run.result.message
    return results[-1]


def show(regs: list[int]) -> str:
    return " ".join(f"x{n}={v:#x}" for n, v in enumerate(regs))
