"""Register fields, width helpers and routing rules (Arm ARM D1.10, D17.2.37, C6.2)."""
from __future__ import annotations

import pytest

from ffaemu.arch.bits import Field, s32, sext32, upper_kind, w, zext32
from ffaemu.arch.exceptions import (A64, EC, UcIntr, UnsupportedState, esr_value, route,
                                    syndrome_insn_address, vector_offset)
from ffaemu.arch.sysregs import HCR, PSTATE, SCR, describe_pstate, mode_bits, mode_name

NS = SCR.NS | SCR.HCE | SCR.RW
EL1H, EL0T = 0x3C5, 0x0


def test_field_helpers():
    f = Field(31, 26)
    assert f.get(0x5E00_1234) == 0x17
    assert f.prep(0x17) == 0x5C00_0000
    assert f.set(0x5E00_1234, 0x16) == 0x5A00_1234
    with pytest.raises(ValueError):
        f.prep(0x40)


def test_width_helpers():
    assert w(0x0000_0000_FFFF_FFFF) == 0xFFFF_FFFF
    assert s32(0x0000_0000_FFFF_FFFF) == -1 and s32(0xFFFF_FFFF_FFFF_FFFF) == -1
    assert zext32(-1) == 0xFFFF_FFFF and sext32(-1) == 0xFFFF_FFFF_FFFF_FFFF
    assert sext32(0x7FFF_FFFF) == 0x7FFF_FFFF
    assert [upper_kind(v) for v in (0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 0xDEAD_0000_FFFF_FFFF)] == \
        ["zero", "sign", "other"]


def test_esr_composition():
    # D17.2.37: EC << 26 | IL << 25 | ISS; ARCH.md's QEMU value for smc #0x1234.
    assert esr_value(EC.SMC64, 0x1234) == 0x5E00_1234
    assert esr_value(EC.UNKNOWN) == 0x0200_0000


def test_instruction_encodings():
    assert A64.SMC.encode(0) == 0xD400_0003       # smc #0
    assert A64.HVC.encode(0x42) == 0xD400_0842
    assert A64.HLT.encode(0xF000) == 0xD45E_0000
    assert A64.SVC.matches(0xD400_0001) and not A64.SVC.matches(0xD400_0003)


def test_mode_names():
    assert mode_bits(1, spx=True) == 0x5 and mode_bits(2, spx=False) == 0x8
    assert [mode_name(m) for m in (0x3C5, 0x3C4, 0x0, 0x3CD, 0x10)] == \
        ["EL1h", "EL1t", "EL0t", "EL3h", "AArch32"]
    assert describe_pstate(0x6000_03C5) == "EL1h nZCv DAIF=DAIF"


@pytest.mark.parametrize("intno, pstate, scr, hcr, insn, expect", [
    # (intno, PSTATE, SCR, HCR, insn) -> (EC, from, to, ELR relative to PC, reason)
    (UcIntr.HYP_TRAP, EL1H, NS, HCR.TSC, A64.SMC.encode(0x12), (EC.SMC64, 1, 2, 0, "HCR_EL2.TSC")),
    (UcIntr.SMC, EL1H, NS, 0, A64.SMC.encode(0), (EC.SMC64, 1, 3, 0, "SMC")),
    (UcIntr.HVC, 0x3CD, NS, 0, A64.HVC.encode(0), (EC.HVC64, 3, 3, 0, "HVC (SCR_EL3.HCE=1)")),
    (UcIntr.HVC, EL1H, SCR.RW | SCR.HCE, 0, A64.HVC.encode(0), (EC.UNKNOWN, 1, 1, -4, "HVC at Secure EL1")),
    (UcIntr.SWI, EL0T, NS, HCR.TGE, A64.SVC.encode(0), (EC.SVC64, 0, 2, 0, "HCR_EL2.TGE")),
    (UcIntr.SWI, EL0T, SCR.RW, HCR.TGE, A64.SVC.encode(0), (EC.SVC64, 0, 1, 0, "SVC")),
    (UcIntr.UDEF, EL1H, SCR.RW | SCR.NS, 0, A64.HVC.encode(0), (EC.UNKNOWN, 1, 1, 0, "HVC with SCR_EL3.HCE=0")),
    (UcIntr.UDEF, EL1H, NS | SCR.SMD, 0, A64.SMC.encode(0), (EC.UNKNOWN, 1, 1, 0, "SMC with SCR_EL3.SMD=1")),
    (UcIntr.UDEF, EL0T, NS, HCR.TGE, 0, (EC.UNKNOWN, 0, 2, 0, "UNDEFINED instruction")),
    (UcIntr.BKPT, EL0T, NS, 0, A64.BRK.encode(7), (EC.BRK64, 0, 1, 0, "BRK")),
    (UcIntr.UDEF, EL1H | PSTATE.IL, NS, 0, 0, (EC.ILLEGAL_STATE, 1, 1, 0, "PSTATE.IL (illegal exception return)")),
])
def test_route(intno, pstate, scr, hcr, insn, expect):
    r = route(intno, pstate, 0x1000, insn, scr, hcr)
    assert (r.ec, r.from_el, r.to_el, r.elr - 0x1000, r.reason) == expect


def test_route_rejects_aarch32():
    with pytest.raises(UnsupportedState, match="AArch32"):
        route(UcIntr.SWI, 0x10, 0x1000, 0, NS, 0)


def test_vector_offsets():
    assert vector_offset(1, 2, EL1H) == 0x400
    assert vector_offset(1, 1, 0x3C5) == 0x200
    assert vector_offset(1, 1, 0x3C4) == 0x000


def test_syndrome_instruction_address():
    # SVC/HVC/untrapped SMC report PC after the instruction; the others at it.
    assert [syndrome_insn_address(i, 0x104) for i in (UcIntr.SWI, UcIntr.HVC, UcIntr.SMC)] == [0x100] * 3
    assert [syndrome_insn_address(i, 0x104) for i in (UcIntr.UDEF, UcIntr.BKPT, UcIntr.HYP_TRAP)] == [0x104] * 3


@pytest.mark.parametrize("spsr, el, scr, hcr, why", [
    (0x3C5, 2, NS, HCR.RW, None),                                  # EL2 -> EL1h, all fine
    (0x3C9, 3, NS, 0, None),                                       # EL3 -> EL2h
    (0x3C5, 2, NS, 0, "SPSR targets AArch64 EL1 but HCR_EL2.RW=0 makes it AArch32"),
    (0x3C9, 3, SCR.NS | SCR.HCE, 0, "SPSR targets AArch64 EL2 but SCR_EL3.RW=0 makes it AArch32"),
    (0x3C9, 1, NS, HCR.RW, "SPSR targets EL2, above the current EL1"),
    (0x3C9, 3, SCR.RW, 0, "SPSR targets EL2 in Secure state (no Secure EL2)"),
    (0x3C5, 2, NS, HCR.RW | HCR.TGE, "SPSR targets EL1 while HCR_EL2.TGE=1"),
    (0x001, 1, NS, HCR.RW, "SPSR.M=0b0001 is not a valid AArch64 mode"),
    (0x3C7, 3, NS, HCR.RW, "SPSR.M=0b0111 is not a valid AArch64 mode"),
    (0x000, 2, NS, HCR.TGE, None),                                 # TGE: RW reads as 1 for EL0
    (0x1D3, 3, NS, 0, None),                                       # AArch32 target: reported elsewhere
])
def test_illegal_return_rules(spsr, el, scr, hcr, why):
    """AArch64.ExceptionReturn / IllegalExceptionReturn (Arm ARM D1.11.3)."""
    from ffaemu.arch.exceptions import illegal_return
    assert illegal_return(spsr, el, scr, hcr) == why


def test_illegal_return_pstate_keeps_el_and_sets_il():
    from ffaemu.arch.exceptions import illegal_return_pstate
    # At EL2h with nothing set; SPSR brings N and DAIF=0b1010 but asks for EL1h.
    assert illegal_return_pstate(0x3C9, 0x8000_0285) == 0x8010_0289
