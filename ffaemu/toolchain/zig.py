"""clang and lld from the `ziglang` PyPI package (wheels for Linux x86_64/aarch64, macOS arm64/x86_64).

`zig cc` is clang (with LLVM's integrated assembler) and `zig ld.lld` is lld (the package's
`python -m ziglang` runs the same executable); both run as subprocesses under a time limit.
"""
from __future__ import annotations

import os
from functools import lru_cache

from ..errors import FfaemuError

TIMEOUT_S = 60.0
MISSING = "the LLVM toolchain needs the ziglang package (pip install ziglang==0.15.2)"


def available() -> bool:
    """True when the `ziglang` package is importable."""
    return _zig() is not None


@lru_cache(maxsize=1)
def _zig() -> str | None:
    """The zig executable inside the ziglang package (what `python -m ziglang` execs), found
    without importing it, so each tool run costs one process rather than a Python start too."""
    import importlib.util
    spec = importlib.util.find_spec("ziglang")
    if spec is None or not spec.submodule_search_locations:
        return None
    for d in spec.submodule_search_locations:
        for name in ("zig", "zig.exe"):
            if os.path.isfile(os.path.join(d, name)):
                return os.path.join(d, name)
    return None


def run(tool: str, args: list[str], cwd: str):
    """Run `zig TOOL ARGS` (tool: 'cc', 'ld.lld', 'objcopy', ...) in `cwd`; output captured."""
    import subprocess
    zig = _zig()
    if zig is None:
        raise FfaemuError(MISSING)
    try:
        return subprocess.run([zig, tool, *args], cwd=cwd, capture_output=True, text=True,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise FfaemuError(f"zig {tool} did not finish within {TIMEOUT_S:.0f} s") from None
