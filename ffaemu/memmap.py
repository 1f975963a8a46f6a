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


# Inside the harness region: what lives where (machine.py, boot.py, models/hyp/pkvm.py).
HARNESS = Region("harness", HARNESS_BASE, HARNESS_SIZE)
HARNESS_STACKS = Region("the boot stubs' EL1-EL3 stacks", HARNESS_BASE + 0xC_0000, 0x3_0000)
HYP_MAILBOX = Region("the EL2 model's own RX/TX mailbox", HARNESS_BASE + 0x8_0000, 0x2000)
HARNESS_PARTS = (Region("the boot stubs, trampoline and unhandled-exception vectors",
                         HARNESS_BASE, 0x4000), HYP_MAILBOX, HARNESS_STACKS)


def overlaps(addr: int, size: int, region: Region) -> bool:
    """[addr, addr+size) and `region` share at least one byte."""
    return addr < region.end and region.base < addr + max(size, 1)


def harness_part(addr: int) -> str:
    """What the harness keeps at `addr` (for fault messages)."""
    for part in HARNESS_PARTS:
        if part.contains(addr):
            return part.name
    return "reserved harness memory"


def describe_harness(addr: int) -> str:
    """`addr` named with its place in the harness region, for one-line messages."""
    return (f"harness memory {HARNESS.base:#x}-{HARNESS.end - 1:#x} ({harness_part(addr)}) "
            f"at {addr:#x}")


def caller_may_use(addr: int, size: int, via_hypervisor: bool) -> bool:
    """May an FF-A caller name [addr, addr+size) as its own memory (RX/TX buffers,
    memory-transaction ranges)? Never the harness region, which no guest owns; a
    hypervisor (a call from EL2) may name its own mailbox there.

    Firmware refuses memory the caller does not own with INVALID_PARAMETERS: Hafnium
    v2.9 src/api.c api_vm_configure_pages (vm_mem_get_mode, "owned and exclusive").
    """
    if not overlaps(addr, size, HARNESS):
        return True
    return via_hypervisor and HYP_MAILBOX.contains(addr, size)
