"""The fuzz suite at CI size: each input class of harness.py for a few hypothesis-drawn
cases (derandomized: the same cases every run), each in a forked child with a time and
memory limit. `make fuzz` runs the long campaign (tests/fuzz/campaign.py)."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

CI_EXAMPLES = int(os.environ.get("FFAEMU_FUZZ_EXAMPLES", "6"))


@pytest.mark.parametrize("cls", sorted(harness.CLASSES))
def test_class_holds_the_promise(cls):
    @settings(max_examples=CI_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(seed=st.integers(0, 2**32 - 1))
    def check(seed):
        with tempfile.TemporaryDirectory() as tmp:
            assert harness.run_case(cls, seed, Path(tmp)) == [], f"replay: campaign.py --replay {cls}:{seed}"
    check()


def test_oracle_catches_each_kind_of_failure():
    """The oracle itself can fail: a traceback, a hang, two error lines, a silent success."""
    assert harness.problems(harness.Outcome(traceback="Traceback ...\nValueError: x")) == ["traceback: ValueError: x"]
    assert harness.problems(harness.in_child(lambda: __import__("time").sleep(5), timeout=0.5)) == ["hang"]
    assert harness.problems(harness.Outcome(code=2, stderr="ffaemu: error: a\nb\n"))[0].startswith(
        "bad-input exit without one error line")
    assert harness.problems(harness.Outcome(code=0), allow_success=False) == [
        "silent success: exit 0 where the input must fail"]
    over = harness.in_child(lambda: harness.Outcome(extra={"n": len(bytearray(1 << 32))}), memory=1 << 31)
    assert harness.problems(over) == ["traceback: MemoryError"]
