"""The memory map, laid out like QEMU's `virt` board (hw/arm/virt.c, base_memmap)."""
from __future__ import annotations

from dataclasses import dataclass

FLASH_BASE = 0x0000_0000
FLASH_SIZE = 0x0800_0000          # two 64 MiB flash banks
UART_BASE = 0x0900_0000           # PL011 (uart0)
UART_SIZE = 0x1000
RAM_BASE = 0x4000_0000
DEFAULT_RAM_SIZE = 512 << 20

# The harness's own code, vectors, stacks and data live in the first MiB of RAM;
# 0x4010_0000-0x4fff_ffff belongs to user images (DEFAULT_BASE is its start).
HARNESS_BASE = RAM_BASE
HARNESS_SIZE = 0x0010_0000
USER_BASE = 0x4010_0000
USER_END = 0x5000_0000


@dataclass(frozen=True)
class Region:
    name: str
    base: int
    size: int

    @property
    def end(self) -> int:
        return self.base + self.size

    def contains(self, addr: int, size: int = 1) -> bool:
        return self.base <= addr and addr + size <= self.end


def regions(ram_size: int) -> list[Region]:
    return [Region("flash", FLASH_BASE, FLASH_SIZE), Region("uart", UART_BASE, UART_SIZE),
            Region("ram", RAM_BASE, ram_size)]


def describe(ram_size: int) -> str:
    return ", ".join(f"{r.name} {r.base:#x}-{r.end - 1:#x}" for r in regions(ram_size)
                     if r.name != "uart")
