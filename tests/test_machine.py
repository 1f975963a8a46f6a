"""Machine behaviour: reset state, semihosting, AArch32 refusal, harness region."""
from __future__ import annotations

import pytest

from conftest import DIAG, run_source
from ffaemu.errors import ImageError
from ffaemu.loader import Image, Segment
from ffaemu.machine import Machine


def test_reset_state(tmp_path):
    """A run starts at EL3h, DAIF masked, SCR_EL3 = HCR_EL2 = 0 (their reset values)."""
    src = """
    mrs x19, CurrentEL
    mrs x20, daif
    mrs x21, scr_el3
    mrs x22, hcr_el2
    mrs x23, spsel
    mov x0, #0x18
    ldr x1, =blk
    hlt #0xf000
    .balign 8
blk: .quad 0x20026, 0
"""
    _, _, res = run_source(src, tmp_path)
    assert res.reason.value == "semihost-exit"
    assert (res.regs["x19"], res.regs["x20"], res.regs["x23"]) == (0xC, 0x3C0, 1)
    assert res.regs["x21"] & ~0x30 == 0        # SCR_EL3 bits [5:4] are RES1 as QEMU reads them
    assert res.regs["x22"] == 0


def test_semihosting_writec_write0(tmp_path):
    src = """
    mov x0, #0x03               // SYS_WRITEC
    ldr x1, =ch
    hlt #0xf000
    mov x0, #0x04               // SYS_WRITE0
    ldr x1, =msg
    hlt #0xf000
    mov x0, #0x18
    ldr x1, =blk
    hlt #0xf000
ch: .byte 0x41
msg: .asciz "BC\\n"
    .balign 8
blk: .quad 0x20026, 0
"""
    _, _, res = run_source(src, tmp_path)
    assert (res.reason.value, res.code, res.console) == ("semihost-exit", 0, "ABC\n")


def test_semihosting_exit_other_reason_is_1(tmp_path):
    """QEMU: a SYS_EXIT reason other than ApplicationExit exits with status 1."""
    src = "mov x0, #0x18\nldr x1, =blk\nhlt #0xf000\n.balign 8\nblk: .quad 0x20023, 0\n"
    _, _, res = run_source(src, tmp_path)
    assert (res.reason.value, res.code) == ("semihost-exit", 1)


def test_unsupported_semihosting_operation(tmp_path):
    _, _, res = run_source("mov x0, #0x05\nhlt #0xf000\n", tmp_path)
    assert res.reason.value == "fault"
    assert "unsupported semihosting operation 0x5" in res.message


def test_semihosting_at_el0_is_undefined(tmp_path):
    """As QEMU without userspace semihosting: HLT #0xf000 at EL0 is UNDEFINED (to EL1)."""
    text = f'.include "{DIAG}"\n' + """
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el0, 0x0
el0:
at: hlt #0xf000
    bl report_el0
    svc #0xffff
"""
    _, image, res = run_source(text, tmp_path)
    e = res.exceptions[0]
    assert (e.from_el, e.to_el, e.ec.name, e.esr, e.elr) == (0, 1, "UNKNOWN", 0x0200_0000,
                                                              image.symbols["at"])


def test_eret_to_aarch32_is_refused(tmp_path):
    src = """
    ldr x0, =0x501
    msr scr_el3, x0
    msr hcr_el2, xzr            // EL1 AArch32
    ldr x0, =guest
    msr elr_el3, x0
    mov x0, #0x1d3              // AArch32 SVC mode
    msr spsr_el3, x0
    eret
guest:
    .word 0xef000000            // A32 svc #0
"""
    _, _, res = run_source(src, tmp_path)
    assert res.reason.value == "fault"
    assert res.message.endswith("ERET to AArch32 (SPSR_EL3=0x1d3); only AArch64 is modelled")


def test_harness_region_is_protected():
    m = Machine()
    m.load(Image([Segment(0x4000_0000, b"\0" * 16)], 0x4000_0000, {}, "low.elf"))
    with pytest.raises(ImageError, match="low.elf: segment 0x40000000-0x4000000f overlaps harness memory 0x40000000-0x400fffff"):
        m.boot_guest(0x4000_0000)
    with pytest.raises(ValueError, match="outside the harness region"):
        m.write_harness(0x4010_0000, b"\0" * 4)


def test_unknown_cpu_model():
    from ffaemu.errors import FfaemuError
    with pytest.raises(FfaemuError, match="unknown CPU model 'm1' \\(choose from: a72, max\\)"):
        Machine(cpu="m1")


def test_machine_runs_once(tmp_path):
    from ffaemu.errors import FfaemuError
    m, _, res = run_source("b .\n", tmp_path, max_insns=10)
    assert res.reason.value == "budget"
    with pytest.raises(FfaemuError, match="already run"):
        m.run()


def test_ram_is_mapped_on_first_touch(tmp_path):
    """Untouched RAM reads as zeros wherever it is; the end of RAM still faults."""
    src = """
    ldr x1, =0x5ff00000          // near the end of 512 MiB of RAM, never loaded
    ldr x19, [x1]
    mov x2, #0x2a
    str x2, [x1, #8]
    ldr x20, [x1, #8]
    ldr x1, =0x60000000          // just past RAM
    ldr x21, [x1]
"""
    m, _, res = run_source(src, tmp_path)
    assert (res.regs["x19"], res.regs["x20"]) == (0, 0x2a)
    assert res.reason.value == "fault" and "unmapped address 0x60000000" in res.message
    assert m.memory.read(0x4400_0000, 8) == bytes(8)
