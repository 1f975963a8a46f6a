"""Image loading: ELF (PT_LOAD at p_paddr, memsz zero fill, symbols), raw, and the writer."""
from __future__ import annotations

import subprocess

import pytest

from ffaemu.errors import ImageError
from ffaemu.loader import Image, Segment, load_elf, load_image, write_elf
from ffaemu.machine import Machine


def test_elf_round_trip_with_bss_and_symbols(tmp_path):
    img = Image([Segment(0x4010_0000, b"\x01\x02\x03\x04", memsz=0x20),
                 Segment(0x4020_0000, b"\xaa" * 8)], 0x4010_0000,
                {"_start": 0x4010_0000, "data": 0x4020_0000}, "x")
    path = tmp_path / "x.elf"
    write_elf(path, img)
    back = load_elf(path)
    assert back.entry == 0x4010_0000
    assert [(s.addr, s.data, s.memsz) for s in back.segments] == \
        [(0x4010_0000, b"\x01\x02\x03\x04", 0x20), (0x4020_0000, b"\xaa" * 8, 8)]
    assert back.symbols == {"_start": 0x4010_0000, "data": 0x4020_0000}
    m = Machine()
    m.memory.write(0x4010_0004, b"\xff" * 0x1C)
    m.load(back)
    assert bytes(m.uc.mem_read(0x4010_0000, 0x20)) == b"\x01\x02\x03\x04" + b"\0" * 0x1C


def test_written_elf_is_valid_for_binutils(tmp_path):
    from conftest import require_tool
    readelf = require_tool("aarch64-linux-gnu-readelf", "binutils-aarch64-linux-gnu")
    path = tmp_path / "x.elf"
    write_elf(path, Image([Segment(0x4010_0000, b"\0" * 8)], 0x4010_0004, {"foo": 0x4010_0004}))
    out = subprocess.run([readelf, "-hls", str(path)], capture_output=True, text=True, check=True).stdout
    assert "AArch64" in out and "0x40100004" in out and "foo" in out


def test_symbolize():
    img = Image([], 0, {"a": 0x100, "b": 0x200})
    assert img.symbolize(0x100) == "a"
    assert img.symbolize(0x210) == "b+0x10"
    assert img.symbolize(0x50) is None


def test_base_with_elf_is_rejected(tmp_path):
    path = tmp_path / "x.elf"
    write_elf(path, Image([Segment(0x4010_0000, b"\0" * 4)], 0x4010_0000))
    with pytest.raises(Exception, match="--base applies to .S and raw images"):
        load_image(path, base=0x4020_0000)


def test_elf_without_load_segments(tmp_path):
    path = tmp_path / "x.elf"
    write_elf(path, Image([], 0x4010_0000))
    with pytest.raises(ImageError, match="no loadable"):
        load_elf(path)


def test_dwarf_lines_of_the_c_blob():
    from conftest import ROOT
    blob = load_elf(ROOT / "firmware_blobs/pkvm_proxy_u64.elf")
    line = blob.source_line(blob.symbols["hyp_ffa_init"] + 0x10)
    assert line is not None and line.startswith("proxy.c:")
    assert blob.source_line(blob.entry).startswith("start.S:")


@pytest.mark.parametrize("klass, data, expected", [(1, 1, "(32-bit), not AArch64"),
                                                   (2, 2, "(64-bit, big-endian), not AArch64")])
def test_wrong_class_or_endianness(tmp_path, klass, data, expected):
    from ffaemu.loader import elf_bytes
    raw = bytearray(elf_bytes(Image([Segment(0x4010_0000, b"\0" * 4)], 0x4010_0000)))
    raw[4], raw[5] = klass, data
    path = tmp_path / "x.elf"
    path.write_bytes(bytes(raw))
    with pytest.raises(ImageError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_elf(path)
