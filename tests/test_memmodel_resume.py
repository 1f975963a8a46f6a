"""Prefix sharing in the memory model's search: a run resumed from a snapshot of another run
(`Executor.run(keep=True)` / `run(resume=...)`) is the run made from the start.

The snapshots share each vCPU's frozen state until the vCPU changes (its block, a drain, a
promise, a new look-ahead); these tests resume every child and grandchild of a search's
first run, so a state change that kept a stale frozen copy gives a different outcome here.
"""
from __future__ import annotations

from bisect import bisect_right
from pathlib import Path

import pytest

from ffaemu import explore
from ffaemu.analysis import litmus, memmodel, xen_armv8

LITMUS = Path(__file__).parent / "litmus"


def _fields(out: memmodel.Outcome) -> tuple:
    return out.regs, out.memory, out.choices, out.deviations, out.failure, out.valid


def _children(out: memmodel.Outcome, devs: dict, last: int):
    marks = [snap[0] for snap in out.snapshots]
    for i in range(last + 1, len(out.choices)):
        for alt in range(1, out.choices[i]):
            yield {**devs, i: alt}, i, out.snapshots[bisect_right(marks, i) - 1]


def _check_two_levels(ex: memmodel.Executor, grandchildren: int | None = 3) -> int:
    """Every child of the default run and its first grandchildren (all if None), resumed
    against fresh."""
    compared = 0
    root = ex.run({}, keep=True)
    for devs, i, snap in list(_children(root, {}, -1)):
        resumed = ex.run(devs, keep=True, resume=snap)
        assert _fields(resumed) == _fields(ex.run(devs)), devs
        compared += 1
        for devs2, _, snap2 in list(_children(resumed, devs, i))[:grandchildren]:
            assert _fields(ex.run(devs2, resume=snap2)) == _fields(ex.run(devs2)), devs2
            compared += 1
    return compared


def test_resumed_xen_runs_equal_fresh_ones():
    ex = xen_armv8.executor(explore.Program("version-then-flag"))    # promises, drains, spins
    assert _check_two_levels(ex) > 30


def test_a_look_ahead_is_part_of_the_snapshot():
    # Every run of unlocked-publish within 2 deviations: some resume where a vCPU's promise
    # candidate was looked ahead before other vCPUs wrote; looking ahead again when resuming
    # (a snapshot without the cache) gives other choices (its search then finds no failure).
    ex = xen_armv8.executor(explore.Program("unlocked-publish"))
    assert _check_two_levels(ex, grandchildren=None) > 50


@pytest.mark.parametrize("name", ["LB", "ATOM+cas", "2+2W"])
def test_resumed_litmus_runs_equal_fresh_ones_registers_too(name):
    test = litmus.parse((LITMUS / f"{name}.litmus").read_text(), name)
    ex = memmodel.Executor(litmus.Built(test).program, "armv8", promises=True)
    assert _check_two_levels(ex) > 0


def test_a_leaf_run_is_the_run_without_its_later_alternatives():
    # search.explore runs the runs it will not deviate from as leaves: no promise look-ahead
    # after the last deviation. Everything but the alternatives counted after it is the same,
    # for every run within 2 deviations of unlocked-publish (promises taken at deviations,
    # failures, dropped runs).
    ex = xen_armv8.executor(explore.Program("unlocked-publish"))
    root = ex.run({}, keep=True)
    leaves = [devs2 for devs, i, _ in _children(root, {}, -1)
              for devs2, _, _ in _children(ex.run(devs, keep=True), devs, i)]
    fewer = 0
    for devs in leaves:
        leaf, full = ex.run(devs, leaf=True), ex.run(devs)
        last = max(devs)
        assert _fields(leaf)[:2] + _fields(leaf)[3:] == _fields(full)[:2] + _fields(full)[3:], devs
        assert leaf.choices[:last + 1] == full.choices[:last + 1], devs
        fewer += len(leaf.choices) < len(full.choices)
    assert len(leaves) > 50 and fewer > 0


def test_a_resumed_run_has_no_trace():
    ex = xen_armv8.executor(explore.Program("flag-before-version"))
    snap = ex.run({}, keep=True).snapshots[-1]
    with pytest.raises(ValueError, match="no trace"):
        ex.run({}, trace=True, resume=snap)
