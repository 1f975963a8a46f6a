"""keystone and LLVM (clang + lld from ziglang) must give identical bytes, labels and line
tables for every `asm/` stub and every differential image; and the keystone encodings that
LLVM refuses (PC-relative targets out of range) are refused, not silently wrapped."""
from __future__ import annotations

import platform
import re
from pathlib import Path

import pytest

from ffaemu.assembler import assemble, assemble_file
from ffaemu.errors import AsmError
from ffaemu.toolchain import ks_bounded, litpool

from conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
BASE = 0x4010_0000
_INCLUDE = re.compile(r'^\s*\.include\s+"([^"]+)"', re.M)


def _standalone_sources() -> list[Path]:
    """Every .S under asm/ that no other file includes, and every differential image."""
    stubs = sorted((ROOT / "asm").rglob("*.S"))
    included = {(p.parent / m).resolve() for p in stubs for m in _INCLUDE.findall(p.read_text())}
    return [p for p in stubs if p.resolve() not in included] + \
        sorted((ROOT / "tests" / "diff" / "images").glob("*.S"))


@pytest.fixture(autouse=True)
def no_cache(monkeypatch):
    monkeypatch.setenv("FFAEMU_NO_CACHE", "1")         # both assemblers really run
    if not ks_bounded.available():
        if IN_CI or platform.machine() in ("x86_64", "AMD64"):
            pytest.fail("keystone-engine is missing on a platform that has its wheel")
        pytest.skip("keystone-engine has no wheel for this platform")


@pytest.mark.parametrize("path", _standalone_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_identical_bytes(path):
    ks = assemble_file(path, BASE, "keystone")
    llvm = assemble_file(path, BASE, "llvm")
    assert ks.code == llvm.code
    assert ks.labels == llvm.labels
    assert ks.lines == llvm.lines


def test_sources_found():
    names = {p.name for p in _standalone_sources()}
    assert {"trapped_smc.S", "psci_off.S", "pkvm_proxy_u64.S", "smc_el3.S"} <= names
    assert "monitor.S" not in names and "uart.S" not in names     # included by others


@pytest.mark.parametrize("src, words", [
    # LLVM's rule (AArch64AsmParser, `ldr Rt, =imm`): one MOVZ when 16 bits at a shift fit.
    ("ldr x0, =0x12\n", [0xD280_0240]),                  # movz x0, #0x12
    ("ldr x1, =0x09000000\n", [0xD2A1_2001]),            # movz x1, #0x900, lsl #16
    ("ldr w2, =0xffff0000\n", [0x52BF_FFE2]),            # movz w2, #0xffff, lsl #16
    (".equ K, 0x1 << 48\nldr x3, =K\n", [0xD2E0_0023]),  # movz x3, #1, lsl #48
    # Otherwise a pool after the code, 8-byte entries first, equal entries shared:
    # ldr x0, +16; ldr w1, +20; ldr x2, +8; NOP to align 8; .quad 0x84000063; .word 0x84000063
    # (LDR (literal) imm19 in words at [23:5], Arm ARM C6.2).
    ("ldr x0, =0x84000063\nldr w1, =0x84000063\nldr x2, =0x84000063\n",
     [0x5800_0080, 0x1800_00A1, 0x5800_0042, 0xD503_201F, 0x8400_0063, 0, 0x8400_0063]),
])
@pytest.mark.parametrize("assembler", ["keystone", "llvm"])
def test_literal_loads(src, words, assembler):
    code = assemble(src, BASE, "t.S", assembler).code
    assert [int.from_bytes(code[i:i + 4], "little") for i in range(0, len(code), 4)] == words


@pytest.mark.parametrize("src", [
    "ldr x0, =0x123456789\n.space 0x100000\n",           # the far literal pool load
    "ldr x0, far\n.space 0x100000\nfar: .quad 1\n",
    "adr x0, far\n.space 0x100000\nfar: .quad 1\n",
    "b.eq far\n.space 0x100000\nfar: .quad 1\n",
    "cbz x0, far\n.space 0x100000\nfar: .quad 1\n",
])
def test_out_of_range_pc_relative_is_refused(src):
    """keystone 0.9.2 wraps these offsets (a load from 1 MiB *before* the instruction);
    imm19 reaches +/-1 MiB (Arm ARM C6.2, LDR (literal), ADR, B.cond, CBZ)."""
    with pytest.raises(AsmError, match=r"^t\.S:1: target 0x40200\w+ is \+0x1000\w+ bytes away, "
                                       r"beyond this instruction's reach of \+/-0x100000"):
        assemble(src, BASE, "t.S", "keystone")
    with pytest.raises(AsmError, match=r"^t\.S:1: fixup value out of range"):
        assemble(src, BASE, "t.S", "llvm")


def test_tbz_out_of_range_aborting_keystone_is_an_error():
    """keystone aborts the process on TBZ beyond +/-32 KiB; the worker dies, ffaemu does not."""
    src = "tbz x0, #1, far\n.space 0x8000\nfar: .quad 1\n"
    with pytest.raises(AsmError, match=r"^t\.S: keystone aborted \(LLVM ERROR: fixup value out of range\)"):
        assemble(src, BASE, "t.S", "keystone")
    assert assemble("nop\n", BASE, "t.S", "keystone").code == bytes.fromhex("1f2003d5")


def test_text_directive():
    """keystone 0.9.2 aborts on `.text` (found on asm/bl33/bl33_mailbox.S) and reads a `.global`
    label as 0; both assemblers give one section with the label at its address."""
    ks = assemble(".text\n.global _start\n_start: nop\n", BASE, "t.S", "keystone")
    llvm = assemble(".text\n.global _start\n_start: nop\n", BASE, "t.S", "llvm")
    assert ks.code == llvm.code == bytes.fromhex("1f2003d5") and ks.labels == llvm.labels == {"_start": BASE}


def test_w_literal_too_large():
    with pytest.raises(AsmError, match=r"^t\.S:2: immediate too large for a W register: ldr w0, =0x123456789$"):
        assemble("nop\nldr w0, =0x123456789\n", BASE, "t.S", "llvm")


def test_movz_rule():
    assert litpool.movz(0, True) == (0, 0)
    assert litpool.movz(0xFFFF_0000_0000_0000, True) == (0xFFFF, 48)
    assert litpool.movz(0x1234_0000, False) == (0x1234, 16)
    assert litpool.movz(-1, True) is None                          # movn is not used (as LLVM)
