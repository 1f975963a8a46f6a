"""System registers and their fields (Arm ARM D17/D19), with Unicorn access paths.

Field positions follow the Arm ARM register descriptions; each constant names the
register and field so call sites never carry bare bit numbers.
"""
from __future__ import annotations

import enum
from typing import NamedTuple

from unicorn import arm64_const as uca

from .bits import Field


class SCR(enum.IntFlag):
    """SCR_EL3 single-bit controls (Arm ARM D19.2.118)."""

    NS = 1 << 0      # EL0/EL1 are Non-secure
    IRQ = 1 << 1
    FIQ = 1 << 2
    EA = 1 << 3
    SMD = 1 << 7     # SMC disabled: SMC at EL1/EL2 is UNDEFINED
    HCE = 1 << 8     # HVC enabled
    SIF = 1 << 9
    RW = 1 << 10     # next lower EL is AArch64
    ST = 1 << 11
    TWI = 1 << 12
    TWE = 1 << 13


class HCR(enum.IntFlag):
    """HCR_EL2 single-bit controls (Arm ARM D19.2.48)."""

    VM = 1 << 0
    FMO = 1 << 3
    IMO = 1 << 4
    AMO = 1 << 5
    TWI = 1 << 13    # trap WFI from EL0/EL1 to EL2
    TWE = 1 << 14    # trap WFE from EL0/EL1 to EL2
    TSC = 1 << 19    # trap SMC from EL1 to EL2
    TGE = 1 << 27    # EL0 exceptions go to EL2
    HCD = 1 << 29    # HVC disabled at EL1/EL2
    RW = 1 << 31     # EL1 is AArch64
    E2H = 1 << 34


class PSTATE(enum.IntFlag):
    """PSTATE bits as saved in SPSR_ELx for an AArch64 context (Arm ARM C5.2.18)."""

    SP = 1 << 0      # M[0]: 1 = SP_ELx (ELxh), 0 = SP_EL0 (ELxt)
    nRW = 1 << 4     # M[4]: 1 = AArch32 (out of scope here)
    F = 1 << 6
    I = 1 << 7       # noqa: E741 - the Arm ARM's name
    A = 1 << 8
    D = 1 << 9
    IL = 1 << 20
    SS = 1 << 21
    V = 1 << 28
    C = 1 << 29
    Z = 1 << 30
    N = 1 << 31


PSTATE_EL = Field(3, 2)          # M[3:2]
PSTATE_DAIF = Field(9, 6)
PSTATE_NZCV = Field(31, 28)
DAIF_ALL = PSTATE.D | PSTATE.A | PSTATE.I | PSTATE.F
CURRENTEL_EL = Field(3, 2)       # CurrentEL.EL


def pstate_el(pstate: int) -> int:
    """Exception level held in PSTATE/SPSR M[3:2]."""
    return PSTATE_EL.get(pstate)


def pstate_uses_spx(pstate: int) -> bool:
    """True when the context runs on SP_ELx (ELxh), false on SP_EL0 (ELxt)."""
    return bool(pstate & PSTATE.SP)


def mode_bits(el: int, spx: bool) -> int:
    """M[3:0] for an AArch64 EL with the given stack pointer selection."""
    return PSTATE_EL.prep(el) | (PSTATE.SP if spx and el else 0)


def mode_name(pstate: int) -> str:
    """Arm's name of the mode in M[4:0]: 'EL1h', 'EL0t', or 'AArch32'."""
    if pstate & PSTATE.nRW:
        return "AArch32"
    el = pstate_el(pstate)
    return f"EL{el}{'h' if pstate_uses_spx(pstate) and el else 't'}"


def describe_pstate(pstate: int) -> str:
    """A short human rendering: mode, NZCV letters and masked DAIF bits."""
    nzcv = "".join(ch if pstate & getattr(PSTATE, ch) else ch.lower() for ch in "NZCV")
    daif = "".join(ch for ch in "DAIF" if pstate & getattr(PSTATE, ch)) or "-"
    return f"{mode_name(pstate)} {nzcv} DAIF={daif}"


class SysReg(NamedTuple):
    """An MRS/MSR encoding (op0, op1, CRn, CRm, op2), reachable through UC_ARM64_REG_CP_REG."""

    op0: int
    op1: int
    crn: int
    crm: int
    op2: int

    def cp_tuple(self, value: int | None = None) -> tuple:
        """Argument for Unicorn's CP_REG access: (crn, crm, op0, op1, op2[, value])."""
        base = (self.crn, self.crm, self.op0, self.op1, self.op2)
        return base if value is None else base + (value,)


# op1 selects the owning EL for the banked registers: 0 = EL1, 4 = EL2, 6 = EL3.
_OP1_FOR_EL = {1: 0, 2: 4, 3: 6}

SCR_EL3 = SysReg(3, 6, 1, 1, 0)
HCR_EL2 = SysReg(3, 4, 1, 1, 0)
MDCR_EL2 = SysReg(3, 4, 1, 1, 1)
CPTR_EL3 = SysReg(3, 6, 1, 1, 2)
CPTR_EL2 = SysReg(3, 4, 1, 1, 2)


def spsr_reg(el: int) -> SysReg:
    """SPSR_ELx, which Unicorn exposes only through CP_REG (Arm ARM C5.2.18)."""
    return SysReg(3, _OP1_FOR_EL[el], 4, 0, 0)


def sctlr_reg(el: int) -> SysReg:
    """SCTLR_ELx."""
    return SysReg(3, _OP1_FOR_EL[el], 1, 0, 0)


# Registers Unicorn names directly, indexed by EL.
ELR = {1: uca.UC_ARM64_REG_ELR_EL1, 2: uca.UC_ARM64_REG_ELR_EL2, 3: uca.UC_ARM64_REG_ELR_EL3}
ESR = {1: uca.UC_ARM64_REG_ESR_EL1, 2: uca.UC_ARM64_REG_ESR_EL2, 3: uca.UC_ARM64_REG_ESR_EL3}
FAR = {1: uca.UC_ARM64_REG_FAR_EL1, 2: uca.UC_ARM64_REG_FAR_EL2, 3: uca.UC_ARM64_REG_FAR_EL3}
VBAR = {1: uca.UC_ARM64_REG_VBAR_EL1, 2: uca.UC_ARM64_REG_VBAR_EL2, 3: uca.UC_ARM64_REG_VBAR_EL3}
SP_EL = {0: uca.UC_ARM64_REG_SP_EL0, 1: uca.UC_ARM64_REG_SP_EL1,
         2: uca.UC_ARM64_REG_SP_EL2, 3: uca.UC_ARM64_REG_SP_EL3}
