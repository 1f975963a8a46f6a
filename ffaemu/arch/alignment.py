"""Alignment faults of SCTLR_ELx.A (Arm ARM D1.3.5.2 / B2.5.2, "Alignment checking").

Unicorn's QEMU 5 core ignores SCTLR_ELx.A; QEMU 7.2 takes the fault (a Data Abort,
DFSC 0b100001, FAR = the address; tests/diff/images/align_sctlr_a.S). While a guest
has set A at some EL, the machine checks each load/store before it runs here.
Covered: the load/store register forms (immediate, unscaled, pre/post-index, register
offset) and pairs, general-purpose and SIMD&FP. Not covered (no fault is taken):
SIMD structure loads (LD1-LD4) and exclusives, which Unicorn already aligns.
"""
from __future__ import annotations

from .bits import Field
from .exceptions import EC, Routing
from .sysregs import HCR, sctlr_reg

SCTLR_A = Field(1, 1)
DFSC_ALIGNMENT = 0b100001
ISS_WNR = 1 << 6                     # the abort came from a write
_LDST_REG = (0x3B000000, 0x38000000)     # load/store register: bits [29:27]=111, [25:24]=0x
_LDST_REG_UIMM = (0x3B000000, 0x39000000)
_LDST_PAIR = (0x3A000000, 0x28000000)    # load/store pair: bits [29:27]=101, bit 25=0


def check_el(el: int, hcr: int) -> int:
    """Whose SCTLR.A governs `el` (EL0 uses SCTLR_EL1, or SCTLR_EL2 with HCR_EL2.TGE)."""
    if el == 0:
        return 2 if hcr & HCR.TGE else 1
    return el


def any_enabled(sctlr: dict[int, int]) -> bool:
    return any(SCTLR_A.get(v) for v in sctlr.values())


def access(insn: int) -> tuple[int, bool] | None:
    """(bytes per element, is a store) of a covered load/store, else None."""
    v = (insn >> 26) & 1
    if insn & _LDST_PAIR[0] == _LDST_PAIR[1]:
        opc, load = insn >> 30, (insn >> 22) & 1
        size = (4 << opc) if v else (8 if opc == 0b10 else 4)
        return size, not load
    if insn & _LDST_REG[0] == _LDST_REG[1] or insn & _LDST_REG_UIMM[0] == _LDST_REG_UIMM[1]:
        size, opc = 1 << (insn >> 30), (insn >> 22) & 3
        if v and opc & 0b10 and size == 1:
            size = 16                                    # Q register
        if not v and size == 8 and opc == 0b10:
            return None                                  # PRFM: no access
        return size, opc == 0
    return None


def address(cs_insn, read_reg) -> int | None:
    """The address a decoded load/store accesses first (capstone's memory operand:
    base + (index extended and shifted) + disp; post-index uses the base alone)."""
    from capstone.arm64 import ARM64_EXT_SXTW, ARM64_EXT_SXTX, ARM64_EXT_UXTW, ARM64_OP_IMM, ARM64_OP_MEM
    if cs_insn is None:
        return None
    mems = [op for op in cs_insn.operands if op.type == ARM64_OP_MEM]
    if not mems:
        return None
    op = mems[0]
    mem = op.mem
    addr = read_reg(cs_insn.reg_name(mem.base))
    post_index = cs_insn.writeback and cs_insn.operands[-1].type == ARM64_OP_IMM
    if not post_index:
        addr += mem.disp
    if mem.index:
        index = read_reg(cs_insn.reg_name(mem.index))
        if op.ext == ARM64_EXT_UXTW:
            index &= 0xFFFF_FFFF
        elif op.ext == ARM64_EXT_SXTW:
            index = (index & 0xFFFF_FFFF) - ((index & 0x8000_0000) << 1)
        elif op.ext == ARM64_EXT_SXTX:
            index -= (index & (1 << 63)) << 1
        addr += index << op.shift.value
    return addr & 0xFFFF_FFFF_FFFF_FFFF


def route_alignment_fault(el: int, to_el: int, pc: int, store: bool) -> Routing:
    """A Data Abort for an alignment fault: EC 0x25 (same EL) or 0x24 (lower EL), IL=1,
    ISV=0, WnR, DFSC 0b100001 (QEMU 7.2: ESR 0x96000021 for a load at EL3)."""
    ec = EC.DATA_ABORT if to_el == el else EC.DATA_ABORT_LOWER
    iss = DFSC_ALIGNMENT | (ISS_WNR if store else 0)
    return Routing(ec, iss, el, to_el, pc, "alignment fault (SCTLR.A)")


SCTLR = {el: sctlr_reg(el) for el in (1, 2, 3)}
