"""Images: `.S` (keystone or LLVM), `.c` (clang, freestanding), ELF and raw binaries, and an ELF writer.

The ELF writer exists so that an assembled image can be handed, byte for byte, to
both ffaemu and qemu-system-aarch64 (`-device loader,file=IMAGE.elf`).
"""
from __future__ import annotations

import bisect
import io
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from typing import Callable


from .assembler import assemble_file
from .errors import FfaemuError, ImageError
from .inputs import MAX_IMAGE_BYTES, read_bounded

DEFAULT_BASE = 0x4010_0000
EM_AARCH64 = 183
ASM_SUFFIXES = (".S", ".s", ".asm")
RAW_SUFFIXES = (".bin", ".raw", ".img")
C_SUFFIXES = (".c",)


@dataclass
class Segment:
    addr: int
    data: bytes
    memsz: int = 0           # bytes to occupy (>= len(data)); the rest is zero

    def __post_init__(self):
        self.memsz = max(self.memsz, len(self.data))

    @property
    def end(self) -> int:
        return self.addr + self.memsz


@dataclass
class Image:
    """What to place in memory, where to start, and the symbols for traces."""

    segments: list[Segment]
    entry: int
    symbols: dict[str, int] = field(default_factory=dict)
    name: str = "<image>"
    lines: dict[int, str] | None = None      # address -> "file:line"; None: not loaded yet
    line_loader: Callable[[], dict[int, str]] | None = field(default=None, repr=False)

    def source_line(self, addr: int) -> str | None:
        """file:line of the statement at or before `addr` (from the line table), if known."""
        if self.lines is None:
            self.lines = self.line_loader() if self.line_loader else {}
        if not self.lines or not any(s.addr <= addr < s.end for s in self.segments):
            return None
        keys = sorted(self.lines)
        i = bisect.bisect_right(keys, addr) - 1
        return self.lines[keys[i]] if i >= 0 else None

    def symbolize(self, addr: int) -> str | None:
        """'label+0x10' for the nearest symbol at or below `addr` inside this image."""
        if self.segments and not any(s.addr <= addr < s.end for s in self.segments):
            return None
        best = None
        for name, value in self.symbols.items():
            if value <= addr and (best is None or value > best[1]):
                best = (name, value)
        if best is None:
            return None
        off = addr - best[1]
        return best[0] if off == 0 else f"{best[0]}+{off:#x}"


def load_asm(path: str | Path, base: int = DEFAULT_BASE, entry: int | None = None) -> Image:
    a = assemble_file(path, base)
    return Image([Segment(base, a.code)], base if entry is None else entry, a.labels, str(path),
                 lines=a.lines)


def load_raw(path: str | Path, base: int = DEFAULT_BASE, entry: int | None = None) -> Image:
    data = _read(path)
    if not data:
        raise ImageError(f"{path}: empty image")
    return Image([Segment(base, data)], base if entry is None else entry, {}, str(path), lines={})


def _read(path: str | Path) -> bytes:
    """The file's bytes, size-checked before reading (inputs.read_bounded)."""
    return read_bounded(path, MAX_IMAGE_BYTES, ImageError)


_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
PT_LOAD, SHT_SYMTAB = 1, 2
MAX_SYMBOL_NAME = 4096
MAX_LINE_TABLE = 4 << 20                  # bytes of .debug_line read for `where` and traces
ELFCLASS64, ELFDATA2LSB = 2, 1
_SYMBOL_TYPES = (0, 1, 2)                 # STT_NOTYPE, STT_OBJECT, STT_FUNC
# ARM mapping symbols ($x code, $d data, $a/$t AArch32; `$x.N` from gcc) mark what kind of
# bytes follow, never a name (ELF for the Arm 64-bit Architecture, "Mapping symbols").
_MAPPING_SYMBOL = re.compile(rb"^\$[xdat](\..*)?$")


def load_elf(path: str | Path, entry: int | None = None) -> Image:
    """Load PT_LOAD segments at their physical addresses, like QEMU's generic loader.

    Headers, segments and symbols are read with `struct` (pyelftools takes longer to set
    up than the rest of a machine's start); DWARF line tables are read with pyelftools,
    on first use.
    """
    data = _read(path)
    if data[:4] != b"\x7fELF":
        raise ImageError(f"{path}: not an ELF file (no ELF magic); use a .S or .bin name for other images")
    try:
        (ident, _, machine, _, e_entry, phoff, shoff, _, _, phentsize, phnum, shentsize,
         shnum, _) = _EHDR.unpack_from(data)
        if ident[4] != ELFCLASS64 or machine != EM_AARCH64 or ident[5] != ELFDATA2LSB:
            bits = 64 if ident[4] == ELFCLASS64 else 32
            raise ImageError(f"{path}: ELF is for {_machine_name(machine)} ({bits}-bit"
                             f"{', big-endian' if ident[5] != ELFDATA2LSB else ''}), not AArch64")
        _check_table(path, data, "program headers", phoff, phnum, phentsize, _PHDR.size)
        if shoff:
            _check_table(path, data, "section headers", shoff, shnum, shentsize, _SHDR.size)
        segs = []
        for i in range(phnum):
            p_type, _, offset, _, paddr, filesz, memsz, _ = _PHDR.unpack_from(data, phoff + i * phentsize)
            if p_type != PT_LOAD or memsz == 0:
                continue
            body = data[offset:offset + filesz]
            if len(body) != filesz:
                raise ImageError(f"{path}: truncated ELF: segment at {paddr:#x} wants "
                                 f"{filesz} bytes, file has {len(body)}")
            segs.append(Segment(paddr, body, memsz))
        sections = [_SHDR.unpack_from(data, shoff + i * shentsize) for i in range(shnum)] if shoff else []
        symbols = _elf_symbols(data, sections)
    except ImageError:
        raise
    except (struct.error, IndexError, ValueError, UnicodeDecodeError, OverflowError) as e:
        raise ImageError(f"{path}: truncated or corrupt ELF: {e}") from None
    if not segs:
        raise ImageError(f"{path}: ELF has no loadable (PT_LOAD) segment")
    return Image(segs, e_entry if entry is None else entry, symbols, str(path),
                 line_loader=lambda: _elf_lines(data))


def _machine_name(machine: int) -> str:
    from elftools.elf.enums import ENUM_E_MACHINE
    return next((name for name, value in ENUM_E_MACHINE.items() if value == machine), f"machine {machine}")


def _check_table(path, data: bytes, what: str, offset: int, count: int, entsize: int,
                 expected: int) -> None:
    """An ELF header table must have ELF64's entry size and lie inside the file (ELF64:
    e_phentsize 56, e_shentsize 64), so a crafted header cannot make the loader walk
    65,535 copies of one entry or read at 2^64 (issue 14)."""
    if count and entsize != expected:
        raise ImageError(f"{path}: corrupt ELF: {what} entry size {entsize}, not {expected}")
    if offset + count * entsize > len(data):
        raise ImageError(f"{path}: corrupt ELF: {what} at {offset:#x} ({count} entries) are "
                         f"outside the file ({len(data)} bytes)")


def _elf_symbols(data: bytes, sections: list[tuple]) -> dict[str, int]:
    """Symbols of every SYMTAB section; tables outside the file, or repeated, are
    skipped, and a name is at most MAX_SYMBOL_NAME bytes: linear in the file's size."""
    out = {}
    seen = set()
    for sh_name, sh_type, _, _, offset, size, link, _, _, entsize in sections:
        if sh_type != SHT_SYMTAB or entsize != _SYM.size or offset + size > len(data) \
                or (offset, size) in seen:
            continue
        seen.add((offset, size))
        strtab_off = sections[link][4]
        for i in range(size // entsize):
            name_off, info, _, shndx, value, _ = _SYM.unpack_from(data, offset + i * entsize)
            if not name_off or shndx == 0 or info & 0xF not in _SYMBOL_TYPES:
                continue
            start = strtab_off + name_off
            end = data.find(b"\0", start, start + MAX_SYMBOL_NAME)
            if end < 0:
                continue                              # unterminated or absurdly long name
            name = data[strtab_off + name_off:end]
            if not _MAPPING_SYMBOL.match(name):
                out[name.decode()] = value
    return out


def _elf_lines(data: bytes) -> dict[int, str]:
    """address -> file:line from the DWARF line programs, if the ELF has them."""
    from elftools.common.exceptions import ELFError      # pyelftools only for DWARF: slow to import
    from elftools.elf.elffile import ELFFile
    try:
        elf = ELFFile(io.BytesIO(data))
        if not elf.has_dwarf_info():
            return {}
        line_section = elf.get_section_by_name(".debug_line")
        if line_section is None or line_section["sh_size"] > MAX_LINE_TABLE:
            return {}                      # none, or too big to read in bounded time
        dwarf = elf.get_dwarf_info()
        table = {}
        for cu in dwarf.iter_CUs():
            prog = dwarf.line_program_for_CU(cu)
            if prog is None:
                continue
            files = prog["file_entry"]
            base = 0 if prog.header["version"] >= 5 else 1
            for entry in prog.get_entries():
                st = entry.state
                if st is None or st.end_sequence:
                    continue
                idx = st.file - base
                name = files[idx].name.decode() if 0 <= idx < len(files) else "?"
                table[st.address] = f"{name}:{st.line}"
        return table
    except Exception:                      # noqa: BLE001 - pyelftools raises anything on bad DWARF
        return {}                          # a broken line table only costs `where` its lines


def load_c(path: str | Path, base: int = DEFAULT_BASE, entry: int | None = None,
           role: str = "guest") -> Image:
    """A C image compiled freestanding at `base` (`toolchain.cguest`; role guest, el2 or el3)."""
    from .toolchain.cguest import build
    image = load_elf(build(path, base, role), entry)
    image.name = str(path)
    return image


def load_image(path: str | Path, base: int | None = None, entry: int | None = None,
               role: str = "guest") -> Image:
    """Load by kind: `.S` assembled and `.c` compiled at base, raw `.bin` at base, else ELF.

    A missing relative `asm/...` or `firmware_blobs/...` path is the copy shipped with ffaemu.
    An image overlapping harness memory is refused (`harness_memory.refuse_overlap`)."""
    from .harness_memory import refuse_overlap
    image = _load_by_kind(path, base, entry, role)
    refuse_overlap(image)
    return image


def _load_by_kind(path: str | Path, base: int | None, entry: int | None, role: str) -> Image:
    from .resources import resolve
    given, path = Path(path), resolve(path)
    if path != given:                           # the installed copy: name it as the user did
        image = _load_by_kind(path, base, entry, role)
        shipped_root = str(path)[:-len(str(given))]
        image.name = str(given)
        if image.lines:
            image.lines = {a: w[len(shipped_root):] if w.startswith(shipped_root) else w
                           for a, w in image.lines.items()}
        return image
    if not path.exists():
        raise FfaemuError(f"{path}: no such file")
    if path.suffix in C_SUFFIXES:
        return load_c(path, DEFAULT_BASE if base is None else base, entry, role)
    if path.suffix in ASM_SUFFIXES:
        return load_asm(path, DEFAULT_BASE if base is None else base, entry)
    if path.suffix in RAW_SUFFIXES:
        return load_raw(path, DEFAULT_BASE if base is None else base, entry)
    if base is not None:
        raise FfaemuError(f"{path}: --base applies to .S and raw images; an ELF carries its addresses")
    return load_elf(path, entry)


PF_X, PF_W, PF_R = 1, 2, 4          # ELF program header p_flags (System V gABI)


def write_elf(path: str | Path, image: Image) -> None:
    """Write `image` as a static AArch64 ELF64 executable with a symbol table."""
    Path(path).write_bytes(elf_bytes(image))


def elf_bytes(image: Image) -> bytes:
    ehsize, phentsize, shentsize = 64, 56, 64
    nseg = len(image.segments)
    off = ehsize + phentsize * nseg
    phdrs, bodies = b"", b""
    for seg in image.segments:
        pad = (-off) % 16
        bodies += b"\0" * pad
        off += pad
        flags = PF_R | PF_W | PF_X
        phdrs += struct.pack("<IIQQQQQQ", 1, flags, off, seg.addr, seg.addr,
                             len(seg.data), seg.memsz, 16)
        bodies += seg.data
        off += len(seg.data)
    strtab = b"\0"
    syms = struct.pack("<IBBHQQ", 0, 0, 0, 0, 0, 0)
    for name, value in sorted(image.symbols.items(), key=lambda kv: kv[1]):
        syms += struct.pack("<IBBHQQ", len(strtab), 0x10, 0, 0xFFF1, value, 0)  # GLOBAL NOTYPE, ABS
        strtab += name.encode() + b"\0"
    shstrtab = b"\0.symtab\0.strtab\0.shstrtab\0"
    blobs = [(syms, 2, 24, 2, 1), (strtab, 3, 0, 0, 0), (shstrtab, 3, 0, 0, 0)]
    names = [1, 9, 17]
    sections, shdrs = b"", struct.pack("<IIQQQQIIQQ", *([0] * 10))
    for (blob, kind, entsize, link, info), name in zip(blobs, names):
        pad = (-off) % 8
        sections += b"\0" * pad
        off += pad
        shdrs += struct.pack("<IIQQQQIIQQ", name, kind, 0, 0, off, len(blob), link,
                             info, 8, entsize)
        sections += blob
        off += len(blob)
    pad = (-off) % 8
    shoff = off + pad
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, EM_AARCH64, 1, image.entry, ehsize, shoff,
                               0, ehsize, phentsize, nseg, shentsize, 4, 3)
    return ehdr + phdrs + bodies + sections + b"\0" * pad + shdrs
