"""The generic timer's counters as a virtual clock: one tick per instruction executed.

Unicorn's QEMU core reads CNTPCT_EL0/CNTVCT_EL0 from the host clock, so a guest that
reads them (delay loops, timestamps) would differ from run to run. ffaemu answers those
reads from the number of instructions in the blocks the CPU entered instead, so runs
are byte-reproducible; CNTFRQ_EL0 is left as Unicorn reports it (62.5 MHz, QEMU's
default). CNTVCT = CNTPCT - CNTVOFF_EL2 (Arm ARM D12.1.2). The C fast path
(native/fastpath.c: ffaemu_fast_block, ffaemu_fast_mrs) does this natively; this
module is the pure-Python equivalent, used when the fast path is off.
"""
from __future__ import annotations

from unicorn import UC_HOOK_BLOCK, UC_HOOK_INSN
from unicorn import arm64_const as uca

from .sysregs import SysReg

# Encodings (op0, op1, CRn, CRm, op2) of the counters (Arm ARM D23.8).
CNTPCT_EL0 = SysReg(3, 3, 14, 0, 1)
CNTVCT_EL0 = SysReg(3, 3, 14, 0, 2)
CNTVOFF_EL2 = SysReg(3, 4, 14, 0, 3)
INSN_BYTES = 4


class PythonCounter:
    """The virtual clock with Python hooks (slower: one call per block entered)."""

    def __init__(self, uc, cpu):
        self.insns = 0
        self._cpu = cpu
        uc.hook_add(UC_HOOK_BLOCK, self._on_block)
        uc.hook_add(UC_HOOK_INSN, self._on_mrs, None, 1, 0, uca.UC_ARM64_INS_MRS)

    def _on_block(self, uc, addr, size, _):
        self.insns += size // INSN_BYTES

    def _on_mrs(self, uc, reg, cp, _):
        enc = SysReg(cp.op0, cp.op1, cp.crn, cp.crm, cp.op2)
        if enc not in (CNTPCT_EL0, CNTVCT_EL0):
            return 0
        value = self.insns
        if enc == CNTVCT_EL0:
            value -= self._cpu.sysreg(CNTVOFF_EL2)
        uc.reg_write(reg, value & 0xFFFF_FFFF_FFFF_FFFF)
        return 1
