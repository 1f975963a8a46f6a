"""clang and lld from the `ziglang` PyPI package (wheels for Linux x86_64/aarch64, macOS arm64/x86_64).

`python -m ziglang cc` is clang (with LLVM's integrated assembler) and `python -m ziglang ld.lld`
is lld; both are run as subprocesses under a time limit.
"""
from __future__ import annotations

import sys

from ..errors import FfaemuError

TIMEOUT_S = 60.0
MISSING = "the LLVM toolchain needs the ziglang package (pip install ziglang==0.15.2)"


def available() -> bool:
    """True when the `ziglang` package is importable."""
    import importlib.util
    return importlib.util.find_spec("ziglang") is not None


def run(tool: str, args: list[str], cwd: str):
    """Run `zig TOOL ARGS` (tool: 'cc', 'ld.lld', 'objcopy', ...) in `cwd`; output captured."""
    import subprocess
    if not available():
        raise FfaemuError(MISSING)
    try:
        return subprocess.run([sys.executable, "-m", "ziglang", tool, *args], cwd=cwd,
                              capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise FfaemuError(f"zig {tool} did not finish within {TIMEOUT_S:.0f} s") from None
