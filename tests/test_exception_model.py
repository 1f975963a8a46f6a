"""Exact exception-entry values, checked without QEMU.

Sources: Arm ARM D1.10 (entry, preferred return address, vector offsets),
D17.2.37 (ESR_ELx: EC << 26 | IL << 25 | ISS, IL = 1 for A64, ISS = imm16 for
SVC/HVC/SMC/BRK, 0 for UNDEFINED), and the QEMU runs recorded in ARCH.md
(ESR_EL2 = 0x5e001234 / SPSR_EL2 = 0x3c5 for a trapped `smc #0x1234`;
ESR_EL3 = 0x5e000000 / SPSR_EL3 = 0x3c9 for EL2's `smc #0`; DAIF = 0x3c0 at the vector).
"""
from __future__ import annotations

import re

import pytest

from conftest import DIAG, run_source

NS_EL1 = """
test_main:
    ldr x0, =0x501              // SCR_EL3: NS | HCE | RW
    msr scr_el3, x0
    ldr x0, ={hcr:#x}
    msr hcr_el2, x0
    ERET_FROM 3, lower, {spsr:#x}
lower:
"""
HCR_RW, HCR_RW_TSC, HCR_RW_TGE = 0x8000_0000, 0x8008_0000, 0x8800_0000

# name: (prelude args, body, expected (from_el, to_el, class, esr, elr label, elr delta, spsr, vector))
CASES = {
    "smc_trapped_by_tsc": (dict(hcr=HCR_RW_TSC, spsr=0x3c5), "at: smc #0x1234\n bl report\n EXIT",
                           (1, 2, "SMC64", 0x5E00_1234, "at", 0, 0x3c5, 0x400)),
    "smc_el1_to_el3": (dict(hcr=HCR_RW, spsr=0x3c5), "at: smc #0x7\n bl report\n EXIT",
                       (1, 3, "SMC64", 0x5E00_0007, "at", 4, 0x3c5, 0x400)),
    "hvc_el1_to_el2": (dict(hcr=HCR_RW, spsr=0x3c5), "at: hvc #0xbeef\n bl report\n EXIT",
                       (1, 2, "HVC64", 0x5A00_BEEF, "at", 4, 0x3c5, 0x400)),
    "svc_el1_spx": (dict(hcr=HCR_RW, spsr=0x3c5), "at: svc #0x1\n bl report\n EXIT",
                    (1, 1, "SVC64", 0x5600_0001, "at", 4, 0x3c5, 0x200)),
    "svc_el1_sp0": (dict(hcr=HCR_RW, spsr=0x3c4), "at: svc #0x2\n bl report\n EXIT",
                    (1, 1, "SVC64", 0x5600_0002, "at", 4, 0x3c4, 0x000)),
    "svc_el0_tge_to_el2": (dict(hcr=HCR_RW_TGE, spsr=0x0), "at: svc #0x3\n bl report_el0\n svc #0xffff",
                           (0, 2, "SVC64", 0x5600_0003, "at", 4, 0x0, 0x400)),
    "smc_el0_undefined": (dict(hcr=HCR_RW_TSC, spsr=0x0), "at: smc #0x4\n bl report_el0\n svc #0xffff",
                          (0, 1, "UNKNOWN", 0x0200_0000, "at", 0, 0x0, 0x400)),
    "hvc_el0_undefined": (dict(hcr=HCR_RW, spsr=0x3c0), "at: hvc #0x5\n bl report_el0\n svc #0xffff",
                          (0, 1, "UNKNOWN", 0x0200_0000, "at", 0, 0x3c0, 0x400)),
    "brk_el1": (dict(hcr=HCR_RW, spsr=0x3c5), "at: brk #0x1234\n bl report\n EXIT",
                (1, 1, "BRK64", 0xF200_1234, "at", 0, 0x3c5, 0x200)),
    "undefined_el1": (dict(hcr=HCR_RW, spsr=0x3c5), "at: .word 0\n bl report\n EXIT",
                      (1, 1, "UNKNOWN", 0x0200_0000, "at", 0, 0x3c5, 0x200)),
}


def _program(prelude: dict, body: str) -> str:
    return f'.include "{DIAG}"\n' + NS_EL1.format(**prelude) + body + "\n"


def _vector_lines(console: str) -> list[dict]:
    pat = re.compile(r"EL(\d) V([0-9a-f]+) ESR=([0-9a-f]+) ELR=([0-9a-f]+) SPSR=([0-9a-f]+) "
                     r"SP=([0-9a-f]+) DAIF=([0-9a-f]+)")
    return [dict(el=int(m[1]), off=int(m[2], 16), esr=int(m[3], 16), elr=int(m[4], 16),
                 spsr=int(m[5], 16), sp=int(m[6], 16), daif=int(m[7], 16))
            for m in pat.finditer(console)]


@pytest.mark.parametrize("name", CASES)
def test_entry_values(name, tmp_path):
    prelude, body, (from_el, to_el, cls, esr, label, delta, spsr, vec) = CASES[name]
    _, image, res = run_source(_program(prelude, body), tmp_path)
    assert (res.reason.value, res.code) == ("semihost-exit", 0), res.message
    first = next(e for e in res.exceptions if e.from_el == from_el)
    elr = image.symbols[label] + delta
    assert (first.from_el, first.to_el, first.ec.name) == (from_el, to_el, cls)
    assert (first.esr, first.elr, first.spsr) == (esr, elr, spsr)
    seen = _vector_lines(res.console)[0]       # what the handler read with MRS
    assert (seen["el"], seen["off"], seen["esr"], seen["elr"], seen["spsr"]) == (to_el, vec, esr, elr, spsr)
    assert seen["daif"] == 0x3C0               # D, A, I, F masked on entry (D1.10.4)
    stacks = {1: 0x4021_0000, 2: 0x4022_0000, 3: 0x4023_0000}
    assert seen["sp"] == stacks[to_el]         # SP_ELt selected on entry


def test_nested_round_trip_values(tmp_path):
    """EL1 -> EL2 (TSC) -> EL3 (EL2's smc #0) -> EL2 -> EL1, the ARCH.md QEMU measurement."""
    body = "at: smc #0x1234\n bl report\n EXIT"
    text = _program(dict(hcr=HCR_RW_TSC, spsr=0x3c5), body).replace(
        "test_main:", "test_main:\n ldr x0, =forward_smc\n mov w1, #1\n str w1, [x0]", 1)
    _, image, res = run_source(text, tmp_path)
    trap, fwd = [e for e in res.exceptions if e.from_el > 0][:2]
    at = image.symbols["at"]
    assert (trap.esr, trap.elr, trap.spsr) == (0x5E00_1234, at, 0x3C5)
    assert (fwd.from_el, fwd.to_el, fwd.esr, fwd.spsr & 0x3FF) == (2, 3, 0x5E00_0000, 0x3C9)
    assert fwd.elr == image.symbols["vcommon_el2"] + _offset_of_smc_in_vcommon(image)
    ret = re.search(r"RET EL=1 NZCV=([0-9a-f]+) SP=([0-9a-f]+)", res.console)
    assert int(ret[2], 16) == 0x4021_0000      # EL1's SP is back after two ERETs


def _offset_of_smc_in_vcommon(image) -> int:
    """The SMC inside diag.S's EL2 handler: ELR_EL3 must be the instruction after it."""
    from ffaemu.arch.exceptions import A64
    seg = image.segments[0]
    start = image.symbols["vcommon_el2"] - seg.addr
    for off in range(start, start + 0x400, 4):
        if A64.SMC.matches(int.from_bytes(seg.data[off:off + 4], "little")):
            return off - start + 4
    raise AssertionError("no SMC in vcommon_el2")


def test_hvc_at_secure_el1_is_undefined(tmp_path):
    """C6.2 HVC: UNDEFINED at Secure EL1 without Secure EL2, although QEMU takes it to EL2."""
    text = f'.include "{DIAG}"\n' + """
test_main:
    ldr x0, =0x500
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
at: hvc #0x11
    bl report
    EXIT
"""
    _, image, res = run_source(text, tmp_path)
    e = res.exceptions[0]
    assert (e.from_el, e.to_el, e.esr, e.elr) == (1, 1, 0x0200_0000, image.symbols["at"])


def test_hvc_at_el3_goes_to_el3(tmp_path):
    """AArch64.CallHypervisor: an HVC executed at EL3 is taken to EL3 (vector +0x200)."""
    text = f'.include "{DIAG}"\n' + """
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
at: hvc #0x3
    bl report
    EXIT
"""
    _, image, res = run_source(text, tmp_path)
    e = res.exceptions[0]
    assert (e.from_el, e.to_el, e.esr, e.elr) == (3, 3, 0x5A00_0003, image.symbols["at"] + 4)
    assert _vector_lines(res.console)[0]["off"] == 0x200


def test_nzcv_and_daif_go_through_spsr(tmp_path):
    """SPSR keeps the caller's NZCV and DAIF; ERET restores them (D1.10.4, C5.2.18)."""
    body = """    ldr x0, =0x90000000         // N and V
    msr nzcv, x0
    msr daifclr, #0xf
    msr daifset, #0x4           // A only
at: svc #0x9
    mrs x19, nzcv
    mrs x20, daif
    bl report
    EXIT"""
    m, image, res = run_source(_program(dict(hcr=HCR_RW, spsr=0x3c5), body), tmp_path)
    e = res.exceptions[0]
    assert e.spsr == 0x9000_0000 | 0x100 | 0x5     # NV, A masked, EL1h
    assert (res.regs["x19"], res.regs["x20"]) == (0x9000_0000, 0x100)
