"""Physical memory as models see it: reads and writes that never raise."""
from __future__ import annotations

from unicorn import Uc, UcError

from . import memmap


class PhysicalMemory:
    """Guest-physical access for Python models (no MMU: physical = what code uses)."""

    def __init__(self, uc: Uc, ram_size: int, ensure_mapped=lambda addr, size: False):
        self._uc = uc
        self.ram = memmap.Region("ram", memmap.RAM_BASE, ram_size)
        self._ensure = ensure_mapped          # maps flash/RAM chunks on first touch

    def read(self, addr: int, size: int) -> bytes | None:
        """`size` bytes at `addr`, or None if any of them is outside the memory map."""
        try:
            self._ensure(addr, size)
            return bytes(self._uc.mem_read(addr, size))
        except (UcError, OverflowError, ValueError):
            return None

    def write(self, addr: int, data: bytes) -> bool:
        try:
            self._ensure(addr, len(data))
            self._uc.mem_write(addr, data)
            return True
        except (UcError, OverflowError, ValueError):
            return False

    def in_ram(self, addr: int, size: int) -> bool:
        """True when [addr, addr+size) is Non-secure RAM (where FF-A buffers may live)."""
        return size > 0 and self.ram.contains(addr, size)
