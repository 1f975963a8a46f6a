"""Issue 14's reproducers for input files: ELF, raw images, assembly sources. Each bad
file gets exactly one `ffaemu: error:` line and exit 2, in bounded time (cases that used
to hang run in a forked child with a time limit: a hang fails, it cannot stall CI)."""
from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_tool
from ffaemu.loader import Image, Segment, elf_bytes

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))
import harness  # noqa: E402

GUEST = 0x4010_0000
HANG_LIMIT = 30.0            # seconds: far above the real cost, far below the old hangs
E_PHOFF, E_SHOFF, E_SHENTSIZE, E_SHNUM = 0x20, 0x28, 0x3A, 0x3C


def bad_input(argv: list[str], *fragments: str) -> str:
    """Run `ffaemu ARGV` in a child with a time limit; it must be one error line, exit 2."""
    out = harness.in_child(lambda: harness.cli_case(argv), timeout=HANG_LIMIT)
    assert not out.hang and not out.traceback and out.crash is None, out
    assert out.code == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ffaemu: error: "), out.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def tiny_elf(**symbols: int) -> bytearray:
    return bytearray(elf_bytes(Image([Segment(GUEST, struct.pack("<2I", 0xD503201F, 0x14000000))], GUEST,
                                     symbols, "t")))


def test_elf_phoff_overflow(tmp_path):
    data = tiny_elf()
    struct.pack_into("<Q", data, E_PHOFF, 0xFFFF_FFFF_FFFF_FFFF)      # was an OverflowError
    path = tmp_path / "phoff.elf"
    path.write_bytes(data)
    bad_input(["run", str(path)], str(path), "program headers", "outside the file")


def test_elf_crafted_symbol_table_is_bounded(tmp_path):
    # 4 KiB: one SYMTAB header repeated 65,535 times (e_shentsize 0) over a table of
    # 170 symbols with unterminated names. It took 90 s; the sizes are now checked first.
    data = tiny_elf(a=GUEST)
    data += bytes(4096 - len(data))
    shoff = len(data) - 64
    struct.pack_into("<IIQQQQIIQQ", data, shoff, 0, 2, 0, 0, 64, 4096 - 64, 0, 0, 8, 24)
    struct.pack_into("<Q", data, E_SHOFF, shoff)
    struct.pack_into("<HH", data, E_SHENTSIZE, 0, 0xFFFF)
    path = tmp_path / "symtab.elf"
    path.write_bytes(data)
    bad_input(["run", str(path)], str(path), "section header")


def test_elf_overlapping_segments_are_refused(tmp_path):
    data = elf_bytes(Image([Segment(GUEST, bytes(64)), Segment(GUEST + 32, bytes(64))], GUEST, {}, "t"))
    path = tmp_path / "overlap.elf"
    path.write_bytes(data)
    bad_input(["run", str(path)], "segment 0x40100020-0x4010005f overlaps another segment of the same image")


def test_corrupt_dwarf_costs_where_its_lines_only(tmp_path):
    for tool in ("aarch64-linux-gnu-as", "aarch64-linux-gnu-ld"):
        require_tool(tool, "binutils-aarch64-linux-gnu")
    src = tmp_path / "dw.S"
    src.write_text(".global _start\n_start:\n  nop\n  b .\n")
    subprocess.run(["aarch64-linux-gnu-as", "-g", str(src), "-o", str(tmp_path / "dw.o")], check=True)
    elf = tmp_path / "dw.elf"
    subprocess.run(["aarch64-linux-gnu-ld", "-N", f"-Ttext={GUEST:#x}", str(tmp_path / "dw.o"), "-o", str(elf)],
                   check=True, capture_output=True)              # -N: one segment, no header page
    data = bytearray(elf.read_bytes())
    # Garble .debug_line: find it through the section headers.
    shoff, = struct.unpack_from("<Q", data, E_SHOFF)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, E_SHENTSIZE)
    names_off = struct.unpack_from("<IIQQQQIIQQ", data, shoff + shstrndx * shentsize)[4]
    for i in range(shnum):
        name, _, _, _, off, size, *_ = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
        if data[names_off + name:].startswith(b".debug_line\0"):
            data[off:off + size] = bytes([0xFF]) * 4 + bytes(range(size - 4))
    elf.write_bytes(data)
    out = harness.in_child(lambda: harness.cli_case(["debug", str(elf), "--max-insns", "1000"],
                                                    stdin="where\nstep\nwhere\n"), timeout=HANG_LIMIT)
    assert out.traceback is None and not out.hang and out.stderr == "", out
    assert f"EL3 {GUEST:#x} <_start>: nop" in out.stdout          # `where` without a line


@pytest.mark.parametrize("name", ["zero.bin", "zero.elf", "zero.S"])
def test_devices_are_refused_unread(tmp_path, name):
    link = tmp_path / name
    link.symlink_to("/dev/zero")
    bad_input(["run", str(link)], str(link), "not a regular file")


CRASHED_KEYSTONE = [
    ("_start:\n    nop\na:: nop\n", "`label::` is not a label"),                # its parser looped
    ('_start:\n    nop\n    .ascii "unterminated\n', "unterminated string"),    # its parser looped
    ("_start:\n    mov x0, #1   // ok\n    mov x1, #2 é\n", "non-ASCII character 'é'"),  # UnicodeEncodeError
]


@pytest.mark.parametrize("assembler", ["keystone", "auto"])
@pytest.mark.parametrize("source, message", CRASHED_KEYSTONE)
def test_assembly_that_hung_or_crashed_keystone(tmp_path, source, message, assembler):
    # keystone names the problem itself; "auto" hands keystone's refusals to LLVM, which
    # reports its own diagnostic for the same line.
    path = tmp_path / "bad.S"
    path.write_text(source)
    argv = ["run", str(path)] + (["--assembler", "keystone"] if assembler == "keystone" else [])
    line = bad_input(argv, f"{path}:3:")
    assert assembler == "auto" or message in line, line


def test_non_ascii_comment_is_fine(tmp_path, capsys):
    from ffaemu.cli import main
    path = tmp_path / "ok.S"
    path.write_text("// café\n_start:\n    mov x0, #0x18   // SYS_EXIT — fin\n    ldr x1, =blk\n"
                    "    hlt #0xf000\n    .balign 8\nblk: .quad 0x20026, 0\n")
    assert main(["run", str(path)]) == 0


@pytest.mark.parametrize("directive", [".skip 0x7fffffff", ".rept 100000000\nnop\n.endr"])
def test_assembly_sizes_are_checked_before_assembling(tmp_path, directive):
    path = tmp_path / "big.S"
    path.write_text(f"_start:\n    nop\n{directive}\n")
    bad_input(["run", str(path)], f"{path}:3:")


def test_non_utf8_include(tmp_path):
    inc = tmp_path / "latin1.S"
    inc.write_bytes(b"    nop\n    // caf\xe9\n")
    path = tmp_path / "main.S"
    path.write_text('_start:\n.include "latin1.S"\n')
    bad_input(["run", str(path)], "latin1.S:2", "not UTF-8")
