"""Checks Unicorn's QEMU 5 core does not make, done before each instruction while a guest
has enabled them: FP/SIMD traps (arch/fptrap.py) and SCTLR_ELx.A alignment faults
(arch/alignment.py). Both are armed by the guest's writes to the control registers
(an MSR hook: in C in the fast path, native/fastpath.c ffaemu_fast_msr), so a guest that
never enables them runs with no per-instruction cost.
"""
from __future__ import annotations

from unicorn import UC_HOOK_CODE, UC_HOOK_INSN
from unicorn import arm64_const as uca

from .arch import alignment, fptrap
from .arch.exceptions import INSN_BYTES, Routing
from .arch.sysregs import FAR, HCR, SysReg

CONTROL_OWNER = {0: 1, 4: 2, 6: 3}          # op1 of SCTLR/CPACR/CPTR -> lowest EL that writes it


class InsnChecks:
    """The per-instruction checks of one machine, and when they are armed."""

    def __init__(self, machine):
        self.m = machine
        self.hook = None                # the UC_HOOK_CODE, while armed
        self.rearm = False              # a control changed: re-arm between emu_starts
        self.cpacr_written = False      # until then FP is enabled at EL0/EL1 (see controls)
        if machine.native is None:      # else the C fast path filters MSRs
            machine.uc.hook_add(UC_HOOK_INSN, lambda uc, reg, cp, _: self.on_control_write(
                cp.op1, cp.crm, cp.op2, cp.val) if (cp.op0, cp.crn) == (3, 1) else 0, None, 1, 0,
                uca.UC_ARM64_INS_MSR)

    def controls(self) -> dict:
        """The control registers' values. CPACR_EL1 counts as FPEN=0b11 until the guest
        writes it: Unicorn runs FP from reset, where QEMU 7.2 resets FPEN to 0 and traps
        EL1's FP until the guest enables it (README, hostile guests)."""
        cpu = self.m.cpu
        regs = {reg: cpu.sysreg(reg) for reg, _ in fptrap.CONTROLS.values()}
        if not self.cpacr_written:
            regs[fptrap.CPACR_EL1] = fptrap.CPACR_FPEN.prep(fptrap.FPEN_NO_TRAP)
        regs.update({reg: cpu.sysreg(reg) for reg in alignment.SCTLR.values()})
        return regs

    @staticmethod
    def wanted(regs: dict) -> bool:
        fp = [regs[reg] for reg, _ in fptrap.CONTROLS.values()]
        return bool(fptrap.traps_configured(*fp)) or alignment.any_enabled(
            {el: regs[reg] for el, reg in alignment.SCTLR.items()})

    def on_control_write(self, op1: int, crm: int, op2: int, value: int) -> int:
        """An MSR to SCTLR_ELx, CPACR_EL1 or CPTR_EL2/EL3 (before it runs): if the checks
        must start or stop, end this emu_start so the machine re-arms them between blocks."""
        reg = SysReg(3, op1, 1, crm, op2)
        regs = self.controls()
        if reg not in regs or self.m.cpu.el < CONTROL_OWNER.get(op1, 4):
            return 0                                  # not a control, or UNDEFINED here
        regs[reg] = value
        self.cpacr_written |= reg == fptrap.CPACR_EL1
        if self.wanted(regs) != (self.hook is not None):
            self.rearm = True
            self.m.uc.emu_stop()
        return 0

    def arm(self) -> None:
        """Add or remove the per-instruction hook (between emu_starts only)."""
        uc = self.m.uc
        self.rearm = False
        wanted = self.wanted(self.controls())
        if wanted and self.hook is None:
            self.hook = uc.hook_add(UC_HOOK_CODE, self.on_insn)
        elif not wanted and self.hook is not None:
            uc.hook_del(self.hook)
            self.hook = None
        uc.ctl_flush_tb()                             # translated blocks get (or lose) the hook

    def on_insn(self, uc, addr, size, _):
        """Before each instruction while armed: take an FP trap or an alignment fault
        instead of running it."""
        m = self.m
        data = m.memory.read(addr, INSN_BYTES)
        if data is None:
            return
        insn = int.from_bytes(data, "little")
        cpu = m.cpu
        el = cpu.el
        r = None
        if fptrap.is_fp_insn(insn):
            regs = list(self.controls().values())[:len(fptrap.CONTROLS)]
            to_el = fptrap.trap_target(el, *regs, cpu.scr_el3, cpu.hcr_el2)
            if to_el is not None:
                r = fptrap.route_fp_trap(el, to_el, addr)
        if r is None:
            r = self.alignment_fault(insn, addr, el)
        if r is not None:
            m.take(r)

    def alignment_fault(self, insn: int, addr: int, el: int) -> Routing | None:
        acc = alignment.access(insn)
        if acc is None:
            return None
        cpu = self.m.cpu
        if not alignment.SCTLR_A.get(cpu.sysreg(alignment.SCTLR[alignment.check_el(el, cpu.hcr_el2)])):
            return None
        from .disasm import decode
        target = alignment.address(decode(insn.to_bytes(4, "little"), addr), self._read_named_reg)
        size, store = acc
        if target is None or target % size == 0:
            return None
        to_el = el if el else (2 if cpu.hcr_el2 & HCR.TGE else 1)
        self.m.uc.reg_write(FAR[to_el], target)
        return alignment.route_alignment_fault(el, to_el, addr, store)

    def _read_named_reg(self, name: str) -> int:
        cpu = self.m.cpu
        if name in ("sp", "wsp"):
            return cpu.sp
        if name in ("xzr", "wzr"):
            return 0
        return cpu.x(int(name[1:]))
