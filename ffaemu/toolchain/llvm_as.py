"""Assemble with LLVM's integrated assembler (clang) and place the result at `base` with lld.

The input is the front end's flattened source (`ffaemu.assembler`), one statement per source
line, so a clang diagnostic at line N names the front end's line N. The object is linked by
a script that puts every section in one output section at `base`; its bytes are the image.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from . import zig
from ..errors import FfaemuError

# The architecture clang assembles for: Armv8.5-A has LSE atomics (v8.1), RCpc LDAPR (v8.3)
# and LDAPUR (v8.4), which litmus tests use. One line, so source line N is output line N + 1.
HEADER = ".arch armv8.5-a\n"
TARGET = "aarch64-freestanding-none"
_DIAG = re.compile(r"^src\.s:(\d+):(\d+): error: (.*)$", re.M)
_UNDEF = re.compile(r"undefined symbol: (\S+)\n>>> referenced by src\.s:(\d+)")
_LINK_SCRIPT = """SECTIONS {{
  . = {base:#x};
  .text : {{ *(.text .text.*) *(.rodata .rodata.*) *(.data .data.*) *(.bss .bss.* COMMON) }}
}}
"""


@dataclass
class Diagnostic(Exception):
    """clang rejected source line `lineno` (1-based, of the source given to `assemble`)."""

    lineno: int
    message: str


@dataclass
class Undefined(Exception):
    """lld found `name` undefined, first referenced on source line `lineno`."""

    name: str
    lineno: int


def assemble(src: str, base: int) -> tuple[bytes, dict[str, int]]:
    """(code at `base`, every named symbol's address); raise Diagnostic or Undefined."""
    with tempfile.TemporaryDirectory(prefix="ffaemu-as-") as tmp:
        Path(tmp, "src.s").write_text(HEADER + src + "\n")
        r = zig.run("cc", ["-target", TARGET, "-c", "-x", "assembler", "src.s", "-o", "src.o"], tmp)
        if r.returncode:
            m = _DIAG.search(r.stderr)
            if not m:
                raise FfaemuError(f"clang failed: {r.stderr.strip() or r.returncode}")
            raise Diagnostic(int(m.group(1)) - HEADER.count("\n"), m.group(3))
        Path(tmp, "link.ld").write_text(_LINK_SCRIPT.format(base=base))
        r = zig.run("ld.lld", ["-T", "link.ld", f"--entry={base:#x}", "-o", "out.elf", "src.o"], tmp)
        if r.returncode:
            m = _UNDEF.search(r.stderr)
            if m:
                raise Undefined(m.group(1), int(m.group(2)) - HEADER.count("\n"))
            raise FfaemuError(f"ld.lld failed: {r.stderr.strip() or r.returncode}")
        with open(Path(tmp, "out.elf"), "rb") as f:
            return _read(ELFFile(f), base)


def _read(elf: ELFFile, base: int) -> tuple[bytes, dict[str, int]]:
    text = elf.get_section_by_name(".text")
    code = text.data() if text is not None and text["sh_type"] != "SHT_NOBITS" else b""
    if text is not None and text["sh_addr"] != base:
        raise FfaemuError(f"ld.lld placed the code at {text['sh_addr']:#x}, not {base:#x}")
    symbols: dict[str, int] = {}
    tab = elf.get_section_by_name(".symtab")
    if isinstance(tab, SymbolTableSection):
        for sym in tab.iter_symbols():
            if sym.name and sym["st_shndx"] not in ("SHN_UNDEF", "SHN_ABS") \
                    and sym["st_info"]["type"] in ("STT_NOTYPE", "STT_FUNC", "STT_OBJECT"):
                symbols.setdefault(sym.name, sym["st_value"])
    return code, symbols
