"""The C fast path: used by default, optional, and replaced by pure Python with one warning."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT

RUN = [sys.executable, "-m", "ffaemu", "run", str(ROOT / "tests/diff/images/nested_el1_el2_el3.S"), "--json"]


def run(env_extra):
    env = dict(os.environ, **env_extra)
    return subprocess.run(RUN, capture_output=True, text=True, cwd=ROOT, env=env)


def test_fast_path_is_used_by_default():
    from ffaemu.machine import Machine
    assert Machine().native is not None


def test_same_result_with_and_without_fast_path():
    fast, slow = run({}), run({"FFAEMU_NATIVE": "0"})
    assert fast.returncode == slow.returncode == 0
    assert fast.stdout == slow.stdout                     # console, registers, every exception
    assert fast.stderr == slow.stderr == ""


def test_build_failure_warns_once_and_falls_back(tmp_path):
    res = run({"CC": "/bin/false", "FFAEMU_CACHE": str(tmp_path)})
    assert res.returncode == 0
    lines = res.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ffaemu: warning: C fast path unavailable (gcc failed")
    assert lines[0].endswith("running in pure Python")
    assert res.stdout == run({"FFAEMU_NATIVE": "0"}).stdout


def test_fresh_build_from_the_package_source(tmp_path):
    res = run({"FFAEMU_CACHE": str(tmp_path)})
    assert res.returncode == 0 and res.stderr == ""
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".so"][0].startswith("fastpath-")
