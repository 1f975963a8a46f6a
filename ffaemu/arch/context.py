"""An EL1 context (a vCPU) that a hypervisor model saves and restores on one CPU.

What a hypervisor switches between guests' vCPUs (Arm ARM D1.2, the EL1 system
registers a guest owns): x0-x30, both stack pointers, PC and PSTATE, and the EL1
exception registers. No MMU is modelled, so no translation registers are switched.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .cpu import Cpu
from .sysregs import ELR, ESR, SP_EL, VBAR, pstate_uses_spx, spsr_reg


@dataclass
class El1Context:
    pc: int
    pstate: int
    xs: list[int] = field(default_factory=lambda: [0] * 31)
    sp_el0: int = 0
    sp_el1: int = 0
    elr_el1: int = 0
    spsr_el1: int = 0
    esr_el1: int = 0
    vbar_el1: int = 0

    @classmethod
    def save(cls, cpu: Cpu, pc: int, xs: list[int] | None = None) -> "El1Context":
        """The running EL1 context, resuming at `pc` with registers `xs` (default: live)."""
        pstate = cpu.pstate
        live_sp = cpu.sp
        uc = cpu.uc
        ctx = cls(pc, pstate, list(xs) if xs is not None else cpu.xs(),
                  uc.reg_read(SP_EL[0]), uc.reg_read(SP_EL[1]), cpu.elr(1),
                  cpu.sysreg(spsr_reg(1)), cpu.esr(1), cpu.vbar(1))
        if pstate_uses_spx(pstate):
            ctx.sp_el1 = live_sp
        else:
            ctx.sp_el0 = live_sp
        return ctx

    def load(self, cpu: Cpu) -> None:
        """Install this context on `cpu` (PSTATE first, then a CP_REG write: see cpu.py)."""
        uc = cpu.uc
        for n, v in enumerate(self.xs):
            cpu.set_x(n, v)
        uc.reg_write(SP_EL[0], self.sp_el0)
        uc.reg_write(SP_EL[1], self.sp_el1)
        uc.reg_write(ELR[1], self.elr_el1)
        uc.reg_write(ESR[1], self.esr_el1)
        uc.reg_write(VBAR[1], self.vbar_el1)
        cpu.set_pstate_and_spsr(self.pstate, 1, self.spsr_el1)
        cpu.sp = self.sp_el1 if pstate_uses_spx(self.pstate) else self.sp_el0
        cpu.pc = self.pc
