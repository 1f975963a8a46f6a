"""clang and lld from the `ziglang` PyPI package (wheels for Linux x86_64/aarch64, macOS arm64/x86_64).

`python -m ziglang cc` is clang (with LLVM's integrated assembler) and `python -m ziglang ld.lld`
is lld; both are run as subprocesses under a time limit.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from functools import lru_cache

from ..errors import FfaemuError

TIMEOUT_S = 60.0
MISSING = "the LLVM toolchain needs the ziglang package (pip install ziglang==0.15.2)"


def available() -> bool:
    """True when the `ziglang` package is importable."""
    return importlib.util.find_spec("ziglang") is not None


def run(tool: str, args: list[str], cwd: str) -> subprocess.CompletedProcess:
    """Run `zig TOOL ARGS` (tool: 'cc', 'ld.lld', 'objcopy', ...) in `cwd`; output captured."""
    if not available():
        raise FfaemuError(MISSING)
    try:
        return subprocess.run([sys.executable, "-m", "ziglang", tool, *args], cwd=cwd,
                              capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise FfaemuError(f"zig {tool} did not finish within {TIMEOUT_S:.0f} s") from None


@lru_cache(maxsize=1)
def version() -> str:
    """The zig version string (part of the cache key: another LLVM may encode differently)."""
    if not available():
        return "absent"
    from importlib.metadata import version as dist_version
    return dist_version("ziglang")
