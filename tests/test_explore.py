"""The interleaving explorer on Xen's per-VM negotiation (asm/el2/xen/)."""
from __future__ import annotations

import json

import pytest

from ffaemu.cli import main
from ffaemu.explore import Program, explore_bounded, explore_random, replay, run_schedule

BUGS = {"flag-before-version": "was served with version 0x0 while the published version is",
        "unlocked-publish": "the VM was added to the VM list 2 times"}


def test_sequential_runs_are_correct_for_every_variant():
    for variant in ("flag-before-version", "unlocked-publish", "fixed"):
        assert run_schedule(Program(variant)).failure is None    # the bugs need an interleaving


@pytest.mark.parametrize("variant", BUGS)
def test_bounded_search_finds_each_bug(variant):
    report = explore_bounded(variant, bound=1)
    assert report.failures >= 1
    assert BUGS[variant] in report.first_failure.failure
    steps, switches = report.first_failure.trace, report.first_failure.preemptions
    assert len(switches) == 1 and {s.vcpu for s in steps} == {0, 1}
    again = run_schedule(Program(variant), switches)               # the schedule replays
    assert again.failure == report.first_failure.failure


def test_fixed_has_no_failure_within_two_preemptions():
    report = explore_bounded("fixed", bound=2)
    assert report.schedules > 3000 and report.failures == 0


@pytest.mark.parametrize("variant", BUGS)
def test_random_search_finds_and_replays_from_the_seed(variant):
    report = explore_random(variant, seed=1, count=100)
    first = report.first_failure
    assert first is not None and BUGS[variant] in first.failure
    again = replay(variant, first.seed)
    assert again.failure == first.failure
    assert [(s.vcpu, s.pc) for s in again.trace] == [(s.vcpu, s.pc) for s in first.trace]


def test_same_seed_same_results():
    a = explore_random("unlocked-publish", seed=7, count=40).as_json()
    b = explore_random("unlocked-publish", seed=7, count=40).as_json()
    assert a == b


def test_fixed_random_with_three_vcpus():
    assert explore_random("fixed", seed=3, count=60, vcpus=3).failures == 0


def test_cli_json(capsys):
    assert main(["explore", "xen-negotiation-race", "--variant", "unlocked-publish", "--bound", "1",
                 "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert {"schedules", "failures", "first_failure"} <= set(doc)
    step = doc["first_failure"]["schedule"][0]
    assert set(step) == {"vcpu", "pc", "symbol", "insn"}
    assert doc["failures"] > 0 and doc["first_failure"]["seed"] is None
    assert main(["explore", "xen-negotiation-race", "--variant", "flag-before-version", "--seed", "1",
                 "--count", "100", "--json"]) == 1
    seed = json.loads(capsys.readouterr().out)["first_failure"]["seed"]
    assert main(["explore", "xen-negotiation-race", "--variant", "flag-before-version",
                 "--replay", str(seed)]) == 1
    assert "FAILED: vCPU" in capsys.readouterr().out
    assert main(["explore", "xen-negotiation-race", "--variant", "fixed", "--bound", "1"]) == 0
    assert "0 failing" in capsys.readouterr().out
