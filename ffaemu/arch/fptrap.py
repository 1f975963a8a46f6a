"""Traps of FP/SIMD instructions by CPACR_EL1.FPEN, CPTR_EL2.TFP and CPTR_EL3.TFP.

Unicorn's QEMU core runs FP/SIMD instructions whatever these controls say; QEMU 7.2
takes the trap (tests/diff/images/fp_trap_*.S). The machine watches writes to the three
registers and, while any of them traps, checks each instruction here before it runs
(a per-instruction hook: slow, but only while a guest has asked for FP traps).
Rules: Arm ARM D1.13.5 / pseudocode AArch64.CheckFPAdvSIMDEnabled (E2H=0).
"""
from __future__ import annotations

from .bits import Field
from .exceptions import EC, Routing
from .sysregs import CPTR_EL2, CPTR_EL3, HCR, SCR, SysReg

CPACR_EL1 = SysReg(3, 0, 1, 0, 2)
CONTROLS = {0: (CPACR_EL1, 1), 4: (CPTR_EL2, 2), 6: (CPTR_EL3, 3)}   # by op1: register, lowest EL
CPACR_FPEN = Field(21, 20)           # 0b01: trap EL0 only; 0b11: no trap; else trap EL0 and EL1
CPTR_TFP = Field(10, 10)             # CPTR_EL2.TFP (E2H=0), CPTR_EL3.TFP
FPEN_NO_TRAP, FPEN_EL0_ONLY = 0b11, 0b01
# ESR ISS for a trapped A64 FP/SIMD instruction: CV=1, COND=0b1110 (D17.2.37, EC 0x07),
# as QEMU builds it (syn_fp_access_trap(1, 0xe, false)): ESR = 0x1fe00000.
FP_TRAP_ISS = (1 << 24) | (0b1110 << 20)
_SYSREG_FPCR_FPSR = (0xFFDFFFC0, 0xD51B4400)   # MRS/MSR of S3_3_C4_C4_0/1 (FPCR, FPSR)


def traps_configured(cpacr: int, cptr2: int, cptr3: int) -> bool:
    """Does any control trap FP/SIMD at some EL?"""
    return CPACR_FPEN.get(cpacr) != FPEN_NO_TRAP or CPTR_TFP.get(cptr2) or CPTR_TFP.get(cptr3)


def is_fp_insn(insn: int) -> bool:
    """An A64 FP/SIMD instruction: SIMD&FP data processing (op0 = x111), a SIMD&FP
    load/store (op0 = x1x0 with V=1), or an MRS/MSR of FPCR/FPSR (C4.1)."""
    op0 = (insn >> 25) & 0xF
    if op0 & 0b0111 == 0b0111:
        return True
    if op0 & 0b0101 == 0b0100 and insn & (1 << 26):
        return True
    mask, value = _SYSREG_FPCR_FPSR
    return insn & mask == value


def trap_target(el: int, cpacr: int, cptr2: int, cptr3: int, scr: int, hcr: int) -> int | None:
    """The EL an FP/SIMD instruction at `el` traps to, or None (AArch64.CheckFPEnabled64)."""
    if el <= 1 and not (el == 0 and hcr & HCR.TGE):
        fpen = CPACR_FPEN.get(cpacr)
        if fpen != FPEN_NO_TRAP and not (fpen == FPEN_EL0_ONLY and el == 1):
            return 1
    if el <= 2 and scr & SCR.NS and CPTR_TFP.get(cptr2):
        return 2
    if CPTR_TFP.get(cptr3):
        return 3
    return None


def route_fp_trap(el: int, to_el: int, pc: int) -> Routing:
    """The trap: EC 0x07 to `to_el`, ELR = the instruction, which does not run."""
    return Routing(EC.FP_ACCESS, FP_TRAP_ISS, el, to_el, pc, "FP/SIMD access trap (CPACR/CPTR)")
