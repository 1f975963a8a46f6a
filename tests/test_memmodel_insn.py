"""How the memory model classifies instructions (ffaemu.analysis.insn).

Instruction words: MEMORY-MODEL.md "Encodings" (DMB ISHLD D50339BF, ISHST D5033ABF, ISH
D5033BBF, SY D5033FBF) and GNU as (aarch64-linux-gnu-as -march=armv8.4-a) for the others.
"""
from __future__ import annotations

import pytest

from ffaemu.analysis import insn as I
from ffaemu.errors import FfaemuError


@pytest.mark.parametrize("word,fence", [(0xD50339BF, I.F_LD), (0xD5033ABF, I.F_ST), (0xD5033BBF, I.F_FULL),
                                        (0xD5033FBF, I.F_FULL), (0xD5033F9F, I.F_FULL),   # DSB SY
                                        (0xD5033FDF, I.F_ISB)])
def test_barriers(word, fence):
    d = I.decode(word, 0x1000)
    assert d.kind == I.FENCE and d.fence == fence
    assert d.needs_empty_buffer == (fence in (I.F_FULL, I.F_ST))


def test_acquire_release_and_exclusives():
    ldar = I.decode(0x88DFFC20, 0)          # ldar w0, [x1]
    assert (ldar.kind, ldar.acquire, ldar.addr) == (I.LOAD, I.ACQ_SC, (1,))
    stlr = I.decode(0x889FFC7F, 0)          # stlr wzr, [x3]
    assert stlr.kind == I.STORE and stlr.release and stlr.direct_write and stlr.needs_empty_buffer
    ldapr = I.decode(0xB8BFC020, 0)         # ldapr w0, [x1]
    assert (ldapr.kind, ldapr.acquire) == (I.LOAD, I.ACQ_PC)
    ldaxr = I.decode(0x885FFC65, 0)         # ldaxr w5, [x3]
    assert ldaxr.exclusive and ldaxr.acquire == I.ACQ_SC and ldaxr.writes == (5,)
    stxr = I.decode(0x88067C67, 0)          # stxr w6, w7, [x3]
    assert stxr.exclusive and stxr.status == 6 and stxr.xstore == (7, 3, 4) and not stxr.release


def test_lse_atomics():
    casal = I.decode(0xC8E0FC41, 0)         # casal x0, x1, [x2]
    assert (casal.atomic_op, casal.acquire, casal.release, casal.compare) == ("cas", I.ACQ_SC, True, 0)
    ldadda = I.decode(0xB8A00041, 0)        # ldadda w0, w1, [x2]
    assert (ldadda.atomic_op, ldadda.acquire, ldadda.release) == ("ldadd", I.ACQ_SC, False)
    staddl = I.decode(0xB860005F, 0)        # staddl w0, [x2]
    assert (staddl.atomic_op, staddl.acquire, staddl.release) == ("ldadd", I.ACQ_NONE, True)
    swp = I.decode(0xB8208041, 0)           # swp w0, w1, [x2]
    assert swp.atomic_op == "swp" and swp.kind == I.ATOMIC and swp.needs_empty_buffer
    with pytest.raises(FfaemuError, match="only the LSE atomics"):
        I.decode(0xB8201041, 0)             # ldclr w0, w1, [x2]


def test_dependencies_through_registers():
    cmp = I.decode(0x7100041F, 0)           # cmp w0, #1: capstone says "writes w0"; it reads it
    assert cmp.reads == (0,) and cmp.writes == (I.FLAGS,)
    beq = I.decode(0x54000040, 0)           # b.eq .+8: a conditional branch on the flags
    assert beq.branch and beq.flow and I.FLAGS in beq.reads
    ldr = I.decode(0xB869C862, 0)           # ldr w2, [x3, w9, sxtw]: both address registers
    assert ldr.addr == (3, 9) and ldr.writes == (2,)
    eor = I.decode(0x4A000009, 0)           # eor w9, w0, w0
    assert eor.kind == I.LOCAL and eor.reads == (0,) and eor.writes == (9,) and not eor.flow
