"""Harness memory (0x4000_0000-0x400f_ffff) is the harness's own: no image may overlap it.

What lives there (machine.py, boot.py, models/hyp/pkvm.py): the boot stubs, trampoline
and unhandled-exception vectors; the EL2 model's own RX/TX mailbox (pKVM's HYP_TX); the
boot stubs' EL1-EL3 stacks. An image that overlaps any byte of the region, used or not, is
refused, and the message names the bytes it hit and what the harness keeps there.
"""
from __future__ import annotations

from . import memmap
from .errors import ImageError

HARNESS = memmap.HARNESS
PARTS = memmap.HARNESS_PARTS            # one layout, shared with the run-time write protection


def _part(lo: int, hi: int) -> str:
    used = [p.name for p in PARTS if lo < p.end and p.base < hi]
    return ", ".join(used) if used else "reserved for the harness"


def refuse_overlap(image) -> None:
    """Raise ImageError if a segment of `image` overlaps harness memory."""
    for seg in image.segments:
        end = seg.addr + max(seg.memsz, 1)
        lo, hi = max(seg.addr, HARNESS.base), min(end, HARNESS.end)
        if lo < hi:
            raise ImageError(f"{image.name}: segment {seg.addr:#x}-{end - 1:#x} overlaps harness "
                             f"memory {HARNESS.base:#x}-{HARNESS.end - 1:#x} at {lo:#x}-{hi - 1:#x} "
                             f"({_part(lo, hi)}); user images go at {memmap.USER_BASE:#x} and above")
