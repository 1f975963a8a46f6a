"""Register access to a Unicorn AArch64 CPU, with the workarounds ARCH.md documents.

- Writing PSTATE does not rebuild QEMU's translation flags; any CP_REG write does,
  so PSTATE is written first and SPSR (a CP_REG) second.
- Writing PSTATE does not bank SP: callers bank it explicitly (`bank_sp`).
- SPSR_ELx exists only as a CP_REG; ELR/ESR/VBAR/SP_ELx have named registers.
"""
from __future__ import annotations

from unicorn import Uc
from unicorn import arm64_const as uca

from .sysregs import ELR, ESR, HCR_EL2, SCR_EL3, SP_EL, VBAR, SysReg, pstate_el, spsr_reg

X_REGS = [getattr(uca, f"UC_ARM64_REG_X{i}") for i in range(29)] + [
    uca.UC_ARM64_REG_X29, uca.UC_ARM64_REG_X30]


class Cpu:
    """Named access to one Unicorn AArch64 CPU."""

    __slots__ = ("uc",)

    def __init__(self, uc: Uc):
        self.uc = uc

    # General-purpose registers -------------------------------------------------
    def x(self, n: int) -> int:
        """X register n (64-bit view)."""
        return self.uc.reg_read(X_REGS[n])

    def set_x(self, n: int, value: int) -> None:
        self.uc.reg_write(X_REGS[n], value & 0xFFFF_FFFF_FFFF_FFFF)

    def xs(self, count: int = 31) -> list[int]:
        """X0..X(count-1)."""
        read = self.uc.reg_read
        return [read(r) for r in X_REGS[:count]]

    @property
    def pc(self) -> int:
        return self.uc.reg_read(uca.UC_ARM64_REG_PC)

    @pc.setter
    def pc(self, value: int) -> None:
        self.uc.reg_write(uca.UC_ARM64_REG_PC, value)

    @property
    def sp(self) -> int:
        return self.uc.reg_read(uca.UC_ARM64_REG_SP)

    @sp.setter
    def sp(self, value: int) -> None:
        self.uc.reg_write(uca.UC_ARM64_REG_SP, value)

    @property
    def pstate(self) -> int:
        return self.uc.reg_read(uca.UC_ARM64_REG_PSTATE)

    @property
    def el(self) -> int:
        return pstate_el(self.pstate)

    # System registers -------------------------------------------------------------
    def sysreg(self, reg: SysReg) -> int:
        return self.uc.reg_read(uca.UC_ARM64_REG_CP_REG, reg.cp_tuple())

    def set_sysreg(self, reg: SysReg, value: int) -> None:
        self.uc.reg_write(uca.UC_ARM64_REG_CP_REG, reg.cp_tuple(value))

    @property
    def scr_el3(self) -> int:
        return self.sysreg(SCR_EL3)

    @property
    def hcr_el2(self) -> int:
        return self.sysreg(HCR_EL2)

    def spsr(self, el: int) -> int:
        return self.sysreg(spsr_reg(el))

    def elr(self, el: int) -> int:
        return self.uc.reg_read(ELR[el])

    def esr(self, el: int) -> int:
        return self.uc.reg_read(ESR[el])

    def vbar(self, el: int) -> int:
        return self.uc.reg_read(VBAR[el])

    def sp_el(self, el: int) -> int:
        """The banked SP_ELx (stale for the SP currently in use: read `sp` for that)."""
        return self.uc.reg_read(SP_EL[el])

    def set_el_regs(self, el: int, *, elr: int, esr: int) -> None:
        self.uc.reg_write(ELR[el], elr)
        self.uc.reg_write(ESR[el], esr)

    def set_elr(self, el: int, value: int) -> None:
        self.uc.reg_write(ELR[el], value)

    def set_pstate_and_spsr(self, pstate: int, spsr_el: int, spsr: int) -> None:
        """Write PSTATE, then SPSR_ELx; the CP_REG write rebuilds the translation flags."""
        self.uc.reg_write(uca.UC_ARM64_REG_PSTATE, pstate)
        self.set_sysreg(spsr_reg(spsr_el), spsr)

    def bank_sp(self, *, save_to: int, load_from: int) -> None:
        """Store the live SP into SP_EL<save_to> and make SP_EL<load_from> live."""
        self.uc.reg_write(SP_EL[save_to], self.sp)
        self.sp = self.uc.reg_read(SP_EL[load_from])
