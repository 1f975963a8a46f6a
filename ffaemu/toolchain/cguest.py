"""C images: `ffaemu run guest.c`, `--el2 hyp.c`, `--el3 fw.c`, built with clang and lld.

Freestanding, linked at the image's base with `c/crt0.S` (stack, main(), semihosting exit;
vectors for EL2/EL3 images) and `c/link.ld.in`; `c/ffaemu.h` is on the include path. The ELF
carries DWARF line tables, so `where` and traces show file:line. Builds are cached by the
content of the source, the headers it includes, the start-up and the base.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import FfaemuError
from . import cache, zig

C_DIR = Path(__file__).with_name("c")
TARGET = "aarch64-freestanding-none"
STACK_SIZE = 0x4000
ROLES = {"guest": [], "el2": ["-DFFAEMU_EL2"], "el3": ["-DFFAEMU_EL3"]}
CFLAGS = ["-target", TARGET, "-mcpu=generic+el2vmsa+el3", "-ffreestanding", "-fno-builtin", "-O2", "-g",
          "-fno-pic", "-fno-pie", "-mgeneral-regs-only", "-fno-stack-protector",
          "-fno-sanitize=all", "-fno-unwind-tables", "-fno-asynchronous-unwind-tables",
          "-ffile-prefix-map={dir}=."]
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
_ERROR = re.compile(r"^(.*?:\d+:\d+: error: .*)$", re.M)


def _sources(path: Path, seen: set[Path] | None = None) -> list[Path]:
    """`path` and the files its `#include "..."` lines name, recursively (for the cache key)."""
    seen = set() if seen is None else seen
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    out = [path]
    for name in _INCLUDE.findall(path.read_text(errors="replace")):
        for d in (path.parent, C_DIR):
            if (d / name).is_file():
                out += _sources((d / name).resolve(), seen)
                break
    return out


def build(path: str | Path, base: int, role: str = "guest") -> Path:
    """The ELF of C source `path` linked at `base` for `role` (guest, el2, el3), built or cached."""
    path = Path(path).resolve()
    try:
        files = _sources(path) + sorted(C_DIR.iterdir())
        k = cache.key("c", role, f"{base:#x}", *(f"{f}\n{f.read_text()}" for f in files))
    except (OSError, UnicodeDecodeError) as e:
        raise FfaemuError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    d = cache.directory()
    if d is not None and (d / "c" / f"{k}.elf").is_file():
        return d / "c" / f"{k}.elf"
    import tempfile
    out_dir = Path(tempfile.mkdtemp(prefix="ffaemu-c-")) if d is None else d / "c"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ffaemu-cc-") as tmp:
        flags = [f.format(dir=path.parent) for f in CFLAGS] + ROLES[role] + ["-I", str(C_DIR)]
        _check(zig.run("cc", flags + ["-c", str(path), "-o", "main.o"], tmp), path)
        _check(zig.run("cc", flags + ["-c", str(C_DIR / "crt0.S"), "-o", "crt0.o"], tmp), path)
        elf = Path(tmp, "image.elf")
        script = (C_DIR / "link.ld.in").read_text().format(base=f"{base:#x}", stack=f"{STACK_SIZE:#x}")
        Path(tmp, "link.ld").write_text(script)
        _check(zig.run("ld.lld", ["-T", "link.ld", "--build-id=none", "-o", str(elf),
                                  "crt0.o", "main.o"], tmp), path, role)
        target = out_dir / f"{k}.elf"
        elf.replace(target)
    return target


def _check(r, path: Path, role: str = "guest") -> None:
    if r.returncode == 0:
        return
    text = r.stderr.strip()
    m = _ERROR.search(text)
    if m:
        raise FfaemuError(m.group(1))
    if "undefined symbol: handle_lower_sync" in text:
        raise FfaemuError(f"{path}: an {role.upper()} image in C must define "
                          f"void handle_lower_sync(struct ffaemu_frame *frame)")
    if "undefined symbol: main" in text:
        raise FfaemuError(f"{path}: no main() (the start-up calls it)")
    first = next((ln for ln in text.splitlines() if "error" in ln), text.splitlines()[0] if text else "")
    raise FfaemuError(f"{path}: build failed: {first.strip()}")
