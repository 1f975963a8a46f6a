"""Arm semihosting over `hlt #0xf000` (Arm "Semihosting for AArch32 and AArch64" v2).

w0 holds the operation, x1 the argument; the result goes back in x0. Only the
operations a test image needs to print and exit are provided, with QEMU's
`-semihosting` behaviour (qemu/semihosting/arm-compat-semi.c).
"""
from __future__ import annotations

import enum

from .arch.exceptions import A64

HLT_SEMIHOSTING = A64.HLT.encode(0xF000)
ADP_STOPPED_APPLICATION_EXIT = 0x20026
_STRING_LIMIT = 1 << 20


class Op(enum.IntEnum):
    SYS_WRITEC = 0x03
    SYS_WRITE0 = 0x04
    SYS_EXIT = 0x18
    SYS_EXIT_EXTENDED = 0x20


class SemihostingError(Exception):
    """The guest asked for an operation this harness does not provide, or gave a bad pointer."""


def exit_code(reason: int, subcode: int) -> int:
    """QEMU: ApplicationExit yields the guest's code, any other reason exits with 1."""
    return subcode & 0xFF if reason == ADP_STOPPED_APPLICATION_EXIT else 1


def read_cstring(read, addr: int) -> bytes:
    """Read a NUL-terminated string from guest memory in 256-byte chunks."""
    out = bytearray()
    while len(out) < _STRING_LIMIT:
        try:
            chunk = bytes(read(addr + len(out), 256))
        except Exception:  # noqa: BLE001 - the chunk crosses the end of a region
            chunk = bytes(read(addr + len(out), 1))
        nul = chunk.find(0)
        if nul >= 0:
            return bytes(out + chunk[:nul])
        out += chunk
    raise SemihostingError(f"SYS_WRITE0 string at {addr:#x} has no NUL within 1 MiB")
