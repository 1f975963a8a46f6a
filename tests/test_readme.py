"""The README's Python example runs as written."""
from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT


def test_python_example_runs():
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "system-off P1\n\n"


def test_readme_opens_with_the_two_commands():
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    assert [line.split()[:2] for line in block.splitlines()] == [["make", "demo"], ["make", "test"]]
