"""Exact values of the checks Unicorn does not make (issue 14): FP/SIMD traps, SCTLR.A
alignment, PC alignment and WFx traps. Encodings from the Arm ARM (C4.1, checked with
keystone); syndromes from QEMU 7.2 runs of tests/diff/images/{fp_trap,align,pc_align,wfx}*.S."""
from __future__ import annotations

import pytest

from ffaemu.arch import alignment, fptrap
from ffaemu.arch.exceptions import WFE, WFI, route_pc_alignment, route_wfx_trap
from ffaemu.arch.sysregs import HCR, SCR

EL1H, EL0T, EL3H = 0x3C5, 0x0, 0x3CD
NS_RW = int(SCR.NS | SCR.RW)


@pytest.mark.parametrize("insn, fp", [
    (0x9E670020, True),      # fmov d0, x1 (SIMD&FP data processing)
    (0x3DC00001, True),      # ldr q1, [x0] (SIMD&FP load, V=1)
    (0xD53B4401, True),      # mrs x1, fpcr
    (0xD51B4422, True),      # msr fpsr, x2
    (0x8B020020, False),     # add x0, x1, x2
    (0xF9400001, False),     # ldr x1, [x0]
])
def test_fp_instructions(insn, fp):
    assert fptrap.is_fp_insn(insn) is fp


@pytest.mark.parametrize("el, cpacr, cptr2, cptr3, target", [
    (1, 0, 0, 0, 1),                   # CPACR_EL1.FPEN=0b00 traps EL1 to EL1
    (0, 1 << 20, 0, 0, 1),             # FPEN=0b01 traps EL0 only
    (1, 1 << 20, 0, 0, None),
    (1, 3 << 20, 1 << 10, 0, 2),       # CPTR_EL2.TFP (Non-secure)
    (1, 3 << 20, 0, 1 << 10, 3),       # CPTR_EL3.TFP
    (2, 0, 0, 0, None),                # CPACR does not apply at EL2
    (3, 0, 1 << 10, 0, None),          # nor CPTR_EL2 at EL3
])
def test_fp_trap_targets(el, cpacr, cptr2, cptr3, target):
    assert fptrap.trap_target(el, cpacr, cptr2, cptr3, NS_RW, int(HCR.RW)) == target


def test_fp_trap_syndrome_is_qemus():
    assert fptrap.route_fp_trap(1, 3, 0x4010_0000).esr == 0x1FE0_0000


@pytest.mark.parametrize("insn, access", [
    (0xF9400001, (8, False)),          # ldr x1, [x0]
    (0xB8001C01, (4, True)),           # str w1, [x0, #1]!
    (0xA9401484, (8, False)),          # ldp x4, x5, [x4]: 8-byte elements
    (0x28C10801, (4, False)),          # ldp w1, w2, [x0], #8
    (0x39400001, (1, False)),          # ldrb w1, [x0]
    (0xFD000001, (8, True)),           # str d1, [x0]
    (0x3DC00001, (16, False)),         # ldr q1, [x0]
    (0xF9800000, None),                # prfm: no access
    (0x4C407000, None),                # ld1 {v0.16b}, [x0]: not covered
    (0xC85F7C01, None),                # ldxr: Unicorn checks exclusives itself
])
def test_alignment_access_sizes(insn, access):
    assert alignment.access(insn) == access


def test_alignment_fault_syndromes_are_qemus():
    assert alignment.route_alignment_fault(3, 3, 0, store=False).esr == 0x9600_0021
    assert alignment.route_alignment_fault(3, 3, 0, store=True).esr == 0x9600_0061
    assert alignment.route_alignment_fault(0, 1, 0, store=False).esr == 0x9200_0021   # EC 0x24


def test_pc_alignment_syndrome_and_routing():
    r = route_pc_alignment(EL3H, 0x4010_3126, NS_RW, 0)
    assert (r.esr, r.to_el, r.elr) == (0x8A00_0000, 3, 0x4010_3126)
    assert route_pc_alignment(EL0T, 0x4010_0002, NS_RW, int(HCR.TGE)).to_el == 2


@pytest.mark.parametrize("pstate, insn, scr, hcr, sctlr, target, esr", [
    (EL1H, WFI, NS_RW, int(HCR.TWI), 0, 2, 0x07E0_0000),
    (EL1H, WFI, NS_RW | int(SCR.TWI), 0, 0, 3, 0x07E0_0000),
    (EL0T, WFI, NS_RW, 0, 0, 1, 0x07E0_0000),                 # SCTLR_EL1.nTWI = 0
    (EL0T, WFE, NS_RW | int(SCR.TWE), 0, 1 << 18, 3, 0x07E0_0001),
    (EL1H, WFI, NS_RW, 0, 0, None, None),
])
def test_wfx_traps(pstate, insn, scr, hcr, sctlr, target, esr):
    r = route_wfx_trap(insn, pstate, 0x4010_0000, scr, hcr, sctlr)
    assert (r and r.to_el, r and r.esr) == (target, esr)
