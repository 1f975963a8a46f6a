"""Boot stubs that take the CPU from EL3 through EL2 to an EL1 guest with real instructions.

The stubs are assembled into the harness region and do what firmware and a
hypervisor do at boot: set VBAR_EL3/EL2, SCR_EL3 (NS, RW, HCE), HCR_EL2 (RW, plus TSC
when the hypervisor traps SMCs), the stacks, and `eret` down to the guest at NS-EL1h
with DAIF masked. Python models then take the exceptions that reach their EL.
An EL2 image (`--el2 FILE`) replaces the EL2 stub: it is entered at EL2h with x0 =
the guest's entry and boots the guest itself.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from . import memmap
from .arch.sysregs import DAIF_ALL, HCR, SCR, mode_bits
from .assembler import assemble

BOOT_BASE = memmap.HARNESS_BASE
STACK_EL3 = memmap.HARNESS_BASE + 0xF_0000
STACK_EL2 = memmap.HARNESS_BASE + 0xE_0000
STACK_EL1 = memmap.HARNESS_BASE + 0xD_0000
SCR_GUEST = SCR.NS | SCR.RW | SCR.HCE
SPSR_EL2H = mode_bits(2, spx=True) | DAIF_ALL     # 0x3c9
SPSR_EL1H = mode_bits(1, spx=True) | DAIF_ALL     # 0x3c5


@dataclass(frozen=True)
class BootConfig:
    guest_entry: int
    vbar_el3: int
    vbar_el2: int
    hcr: int = HCR.RW
    scr: int = SCR_GUEST
    el2_entry: int | None = None          # an EL2 image's entry instead of the EL2 stub


def boot_source(cfg: BootConfig) -> str:
    el2 = f"{cfg.el2_entry:#x}" if cfg.el2_entry is not None else "el2_boot"
    return f"""
el3_boot:
    ldr x0, ={STACK_EL3:#x}
    mov sp, x0
    ldr x0, ={cfg.vbar_el3:#x}
    msr vbar_el3, x0
    ldr x0, ={int(cfg.scr):#x}
    msr scr_el3, x0
    ldr x0, ={STACK_EL2:#x}
    msr sp_el2, x0
    ldr x0, ={el2}
    msr elr_el3, x0
    ldr x0, ={SPSR_EL2H:#x}
    msr spsr_el3, x0
    ldr x0, ={cfg.guest_entry:#x}       // for an EL2 image: x0 = the guest's entry
    eret
el2_boot:
    ldr x0, ={cfg.vbar_el2:#x}
    msr vbar_el2, x0
    ldr x0, ={int(cfg.hcr):#x}
    msr hcr_el2, x0
    ldr x0, ={STACK_EL1:#x}
    msr sp_el1, x0
    ldr x0, ={cfg.guest_entry:#x}
    msr elr_el2, x0
    ldr x0, ={SPSR_EL1H:#x}
    msr spsr_el2, x0
    mov x0, #0
    mov x1, #0
    eret
"""


@functools.lru_cache(maxsize=64)
def boot_code(cfg: BootConfig):
    """Assembled stubs at BOOT_BASE (entry: `el3_boot`, the first instruction); keystone's
    output is deterministic, so a process assembles each configuration once."""
    return assemble(boot_source(cfg), BOOT_BASE, "<boot stub>")
