"""Python trap handlers at EL2/EL3: return, forward (to Python or assembly EL3), vector."""
from __future__ import annotations

import pytest

from ffaemu.assembler import assemble
from ffaemu.boot import STACK_EL3
from ffaemu.loader import Image, Segment
from ffaemu.machine import RESUME, Machine, ModelError
from ffaemu.models.fw.tfa import Tfa

GUEST = """
_start:
    ldr x0, =0x84000063         // FFA_VERSION
    ldr x1, =0xffffffff00010002 // w1 = 1.2, garbage above
smc_at:
    smc #0
    mov x19, x0
    mov x20, x1
    mov x21, x2
    mov x22, x3
    mov x23, x4
    mov x24, sp
    ldr x0, =0x84000008         // PSCI SYSTEM_OFF
    smc #0
    b .
"""

EL3_MONITOR = """
    .balign 0x800
el3_vectors:
    .space 0x400
    // Lower EL, AArch64, synchronous: report what EL3 sees, bump x0, return.
    mrs x1, esr_el3
    mrs x2, elr_el3
    mrs x3, spsr_el3
    mov x4, sp
    add x0, x0, #1
    eret
"""


def guest_machine(el2=None, el3=None, monitor=False):
    m = Machine()
    src = GUEST + (EL3_MONITOR if monitor else "")
    a = assemble(src, 0x4010_0000, "guest.S")
    m.load(Image([Segment(a.base, a.code)], a.base, a.labels, "guest.S"))
    entry = m.boot_guest(a.base, el3=el3, el2=el2, traps_smc=el2 is not None,
                         vbar_el3=a.labels["el3_vectors"] if monitor else None)
    return m, a.labels, entry


def test_el2_handler_returns_like_eret():
    seen = {}

    def hyp(trap):
        if trap.w(0) == 0x84000063:
            seen.update(x1=trap.x(1), w1=trap.w(1), esr=trap.esr, elr=trap.elr, spsr=trap.spsr)
            return trap.ret(0x10002, 0, x3=7)
        return (yield trap.forward())

    m, labels, entry = guest_machine(el2=hyp, el3=Tfa())
    res = m.run(entry)
    assert res.reason.value == "system-off"
    # ESR/ELR/SPSR as ARCH.md measured for a trapped `smc #0` from EL1h with DAIF masked.
    assert seen == dict(x1=0xFFFF_FFFF_0001_0002, w1=0x10002, esr=0x5E00_0000,
                        elr=labels["smc_at"], spsr=0x3C5)
    assert (res.regs["x19"], res.regs["x20"], res.regs["x22"]) == (0x10002, 0, 7)
    assert res.regs["x24"] == 0x400D_0000          # the guest's SP_EL1 is untouched
    assert res.el == 1                            # SYSTEM_OFF was issued from EL1


def test_forward_to_python_el3_sees_firmware_view():
    seen = []

    def fw(trap):
        seen.append((trap.from_el, trap.esr, trap.elr, trap.spsr, trap.x(0), trap.x(1)))
        if trap.w(0) == 0x84000008:
            return trap.stop("system-off")
        return trap.ret(trap.x(1) + 1)

    def hyp(trap):
        res = yield trap.forward(trap.x(0), 41)
        return trap.ret(res.x(0))

    m, labels, entry = guest_machine(el2=hyp, el3=fw)
    res = m.run(entry)
    assert seen[0] == (2, 0x5E00_0000, RESUME, 0x3C9, 0x84000063, 41)
    assert res.regs["x19"] == 42
    trap, fwd = res.exceptions[0], res.exceptions[1]
    assert (trap.from_el, trap.to_el, fwd.from_el, fwd.to_el) == (1, 2, 2, 3)


def test_forward_to_assembly_el3_runs_real_smc_and_eret():
    calls = []

    def hyp(trap):
        if trap.w(0) == 0x84000008:
            return trap.stop("system-off")
        first = yield trap.forward(10)
        second = yield trap.forward(first.x(0) * 2)       # two SMCs from one trap
        calls.append((first.xs[:5], second.xs[:5]))
        return trap.ret(second.x(0), second.x(1), second.x(2), second.x(3), second.x(4))

    m, labels, entry = guest_machine(el2=hyp, monitor=True)
    res = m.run(entry)
    assert res.reason.value == "system-off"
    (f0, f1, f2, f3, f4), _ = calls[0]
    assert f0 == 11
    # What EL3 assembly read with MRS: the SMC #0 syndrome, ELR after the EL2 SMC,
    # SPSR = EL2h with DAIF masked (ARCH.md: 0x3c9), SP = SP_EL3 from the boot stub.
    assert (f1, f2, f3 & 0x3FF, f4) == (0x5E00_0000, RESUME, 0x3C9, STACK_EL3)
    assert res.regs["x19"] == 23                       # (10 + 1) * 2 + 1
    assert res.regs["x24"] == 0x400D_0000             # the ERET back restored SP_EL1
    assert res.el == 1


def test_declined_trap_vectors_and_is_reported():
    m, labels, entry = guest_machine(el2=lambda trap: None, el3=Tfa())
    res = m.run(entry)
    assert res.reason.value == "fault"
    assert res.message == ("exception to EL2 at vector offset 0x400 (ESR_EL2=0x5e000000, "
                           f"ELR_EL2={labels['smc_at']:#x}) was not handled by the EL2 model")


def test_bad_answer_is_a_model_error():
    m, _, entry = guest_machine(el2=lambda trap: 42, el3=Tfa())
    with pytest.raises(ModelError, match="handler answered 42"):
        m.run(entry)


def test_el3_only_python_firmware():
    m, _, entry = guest_machine(el3=Tfa())
    res = m.run(entry)
    assert res.reason.value == "system-off"
    assert res.regs["x19"] == 0xFFFF_FFFF_FFFF_FFFF    # unknown FID: -1, sign-extended (TF-A)
    assert res.regs["x20"] == 0xFFFF_FFFF_0001_0002    # x1 preserved


def test_boot_runs_real_instructions():
    """The EL3->EL2->EL1 boot is executed, not faked: its MSRs are visible in the CPU."""
    m, _, entry = guest_machine(el3=Tfa())
    m.run(entry)
    from ffaemu.arch.sysregs import HCR, SCR
    scr_fields = SCR.NS | SCR.RW | SCR.HCE | SCR.SMD    # bits [5:4] read as RES1
    assert m.cpu.scr_el3 & scr_fields == SCR.NS | SCR.RW | SCR.HCE
    assert m.cpu.hcr_el2 == HCR.RW
