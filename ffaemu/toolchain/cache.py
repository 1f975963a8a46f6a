"""Assembled objects cached by content hash in a per-user cache directory.

The key covers the assembler asked for, the base, the front end's output with each line's
file:line, and the source of ffaemu's toolchain modules, so any change re-assembles (the
assemblers themselves are pinned in pyproject.toml: keystone-engine 0.9.2, ziglang 0.15.2).
The directory is `$FFAEMU_CACHE` (shared with the native fast path's build), else
~/.cache/ffaemu (~/Library/Caches/ffaemu on macOS); `FFAEMU_NO_CACHE=1` turns caching off.
"""
from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

_TOOLCHAIN_SOURCES = ("assembler.py", "toolchain/llvm_as.py", "toolchain/_ks_worker.py", "toolchain/ks_bounded.py",
                      "toolchain/litpool.py", "toolchain/pcrel.py")


def directory() -> Path | None:
    """The cache directory, or None when caching is off."""
    if os.environ.get("FFAEMU_NO_CACHE", "") not in ("", "0"):
        return None
    if os.environ.get("FFAEMU_CACHE"):
        return Path(os.environ["FFAEMU_CACHE"])
    if sys.platform == "darwin":
        root = Path.home() / "Library" / "Caches"
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "ffaemu"


@lru_cache(maxsize=1)
def _code_hash() -> str:
    import hashlib
    pkg = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for rel in _TOOLCHAIN_SOURCES:
        h.update((pkg / rel).read_bytes())
    return h.hexdigest()


def key(*parts: str) -> str:
    """A hex digest of `parts` and of ffaemu's toolchain sources."""
    import hashlib
    h = hashlib.sha256(_code_hash().encode())
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p.encode())
    return h.hexdigest()


def get(kind: str, k: str) -> dict | None:
    """The JSON object stored under (kind, k), or None."""
    d = directory()
    if d is None:
        return None
    import json
    try:
        return json.loads((d / kind / f"{k}.json").read_text())
    except (OSError, ValueError):
        return None


def put(kind: str, k: str, value: dict) -> None:
    """Store `value` under (kind, k); an unwritable cache is silently skipped."""
    d = directory()
    if d is None:
        return
    import json
    import tempfile
    try:
        (d / kind).mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d / kind, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(value, f)
        os.replace(tmp, d / kind / f"{k}.json")
    except OSError:
        pass
