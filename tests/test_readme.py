"""The README's Python example runs as written."""
from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT


def test_python_example_runs():
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(from ffaemu\.machine.*?)```", text, re.S).group(1)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "system-off P1\n\n"


def test_readme_opens_with_the_two_commands():
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    assert [line.split()[:2] for line in block.splitlines()] == [["make", "demo"], ["make", "test"]]


def test_users_test_file_runs_under_plain_pytest(tmp_path):
    """The README's test file, alone in a directory: only the installed plugin helps it."""
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(# test_my_guest.py\n.*?)```", text, re.S).group(1)
    (tmp_path / "test_my_guest.py").write_text(code)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "12 passed" in proc.stdout


def test_helpers_explain_the_upper_half():
    import pytest
    from ffaemu.ffa.abi import FfaError
    from ffaemu.testing import assert_ffa_error, assert_ffa_version
    assert_ffa_version(0xDEAD_BEEF_0001_0002, "1.2")           # only the W view counts
    with pytest.raises(AssertionError, match=r"answered NOT_SUPPORTED, expected 1.2: "
                       r"w0=0xffffffff \(x0=0x00000000ffffffff, bits \[63:32\] zero\)"):
        assert_ffa_version(0xFFFF_FFFF, (1, 2))
    with pytest.raises(AssertionError, match=r"bits \[63:32\] garbage"):
        assert_ffa_error(0x1234_0000_FFFF_FFFF, FfaError.INVALID_PARAMETERS)
    assert_ffa_error({"x0": 0x84000060, "x2": 0xFFFF_FFFF_FFFF_FFFE}, FfaError.INVALID_PARAMETERS)
