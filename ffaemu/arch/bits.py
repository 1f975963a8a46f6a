"""Bit fields and register width: the vocabulary for "which half of x0 counts".

A W register is the low 32 bits of the X register; writing it zeroes bits [63:32]
(Arm ARM C1.2.5). SMCCC SMC32 results live in W registers, so callers must compare
the W view, never the X view.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MASK32 = 0xFFFF_FFFF
MASK64 = 0xFFFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class Field:
    """A bit field [msb:lsb] of a register, as the Arm ARM writes it."""

    msb: int
    lsb: int
    mask: int = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "mask", ((1 << (self.msb - self.lsb + 1)) - 1) << self.lsb)

    def get(self, value: int) -> int:
        """Extract the field from a register value (FIELD_GET)."""
        return (value & self.mask) >> self.lsb

    def prep(self, field_value: int) -> int:
        """Place a field value at its position (FIELD_PREP); raise if it does not fit."""
        width = self.msb - self.lsb + 1
        if field_value < 0 or field_value >> width:
            raise ValueError(f"value {field_value:#x} does not fit in [{self.msb}:{self.lsb}]")
        return field_value << self.lsb

    def set(self, value: int, field_value: int) -> int:
        """Return `value` with the field replaced."""
        return (value & ~self.mask) | self.prep(field_value)


def w(value: int) -> int:
    """The W view (bits [31:0]) of a 64-bit X register value."""
    return value & MASK32


def x(value: int) -> int:
    """Reduce a Python int to a 64-bit X register value (two's complement)."""
    return value & MASK64


def s32(value: int) -> int:
    """The W view of a register read as a signed 32-bit integer, like `(s32)w0` in C."""
    v = value & MASK32
    return v - (1 << 32) if v & 0x8000_0000 else v


def s64(value: int) -> int:
    """The X view of a register read as a signed 64-bit integer."""
    v = value & MASK64
    return v - (1 << 64) if v & (1 << 63) else v


def zext32(value: int) -> int:
    """Zero-extend a 32-bit value to 64 bits: what `mov w0, ...` leaves in x0."""
    return value & MASK32


def sext32(value: int) -> int:
    """Sign-extend a 32-bit value to 64 bits: what `sxtw x0, w0` leaves in x0."""
    return s32(value) & MASK64


def upper_half(value: int) -> int:
    """Bits [63:32] of an X register value."""
    return (value >> 32) & MASK32


def upper_kind(value: int) -> str:
    """Classify bits [63:32]: 'zero', 'sign' (sign extension of w) or 'other'."""
    hi = upper_half(value)
    if hi == 0:
        return "zero"
    if hi == MASK32 and value & 0x8000_0000:
        return "sign"
    return "other"
