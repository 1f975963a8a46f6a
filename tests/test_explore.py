"""The interleaving explorer on Xen's per-VM negotiation (asm/el2/xen/)."""
from __future__ import annotations

import json

import pytest

from ffaemu.cli import main
from ffaemu.explore import Program, explore_bounded, explore_random, replay, replay_schedule, run_schedule

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
    assert set(step) == {"vcpu", "pc", "symbol", "insn"}                # notes only under armv8
    assert doc["failures"] > 0 and doc["first_failure"]["seed"] is None
    assert main(["explore", "xen-negotiation-race", "--variant", "flag-before-version", "--seed", "1",
                 "--count", "100", "--json"]) == 1
    seed = json.loads(capsys.readouterr().out)["first_failure"]["seed"]
    assert main(["explore", "xen-negotiation-race", "--variant", "flag-before-version",
                 "--replay", str(seed)]) == 1
    assert "FAILED: vCPU" in capsys.readouterr().out
    assert main(["explore", "xen-negotiation-race", "--variant", "fixed", "--bound", "1"]) == 0
    assert "0 failing" in capsys.readouterr().out


# -- the ARMv8 memory model (ffaemu.analysis.memmodel) ------------------------------------------
# XenNeg+MP / XenNeg+lock+po (MEMORY-MODEL.md, herd7 + aarch64.cat: Sometimes) is what the
# version-then-flag variant does; its fixes are XenNeg+lock+acq, XenNeg+lock+dmb.ld (Never) and
# the posted fix XenVers+CoRR (Never).
STALE = "was served with version 0x0 while the published version is"
FIXES = ("posted-fix", "flag-acquire", "flag-dmb-ishld", "fixed")


def test_real_xen_race_fails_under_armv8_within_the_default_bound():
    report = explore_bounded("version-then-flag", bound=2, memory_model="armv8")
    assert report.failures > 0 and STALE in report.first_failure.failure
    why = [s.note for s in report.first_failure.trace if "STALE" in s.note]
    assert why and "guest_vers=0x0" in why[0] and "negotiated=0x1" in why[0]
    assert "satisfied the two loads out of order" in why[0]
    again = replay_schedule(Program("version-then-flag"), report.first_failure.schedule, "armv8")
    assert again.failure == report.first_failure.failure


def test_real_xen_race_passes_under_sc():
    assert explore_bounded("version-then-flag", bound=1).failures == 0
    assert explore_random("version-then-flag", seed=1, count=60, vcpus=3).failures == 0


@pytest.mark.parametrize("variant", FIXES)
def test_fixes_pass_under_armv8(variant):
    assert explore_bounded(variant, bound=2, memory_model="armv8").failures == 0
    assert explore_random(variant, seed=1, count=40, vcpus=3, memory_model="armv8").failures == 0


@pytest.mark.parametrize("variant", FIXES[:3])
def test_new_fixes_pass_under_sc(variant):
    assert explore_bounded(variant, bound=1).failures == 0


@pytest.mark.parametrize("variant", BUGS)
def test_program_order_bugs_fail_under_armv8_too(variant):
    report = explore_bounded(variant, bound=2, memory_model="armv8")
    assert report.failures > 0 and BUGS[variant] in report.first_failure.failure


def test_armv8_same_seed_same_results():
    a = explore_random("version-then-flag", seed=5, count=30, vcpus=3, memory_model="armv8").as_json()
    b = explore_random("version-then-flag", seed=5, count=30, vcpus=3, memory_model="armv8").as_json()
    assert a == b and a["failures"] > 0 and a["memory_model"] == "armv8"
    c = explore_bounded("version-then-flag", bound=1, memory_model="armv8").as_json()
    assert c == explore_bounded("version-then-flag", bound=1, memory_model="armv8").as_json()


def test_cli_armv8_prints_the_replay_command(capsys):
    base = ["explore", "xen-negotiation-race", "--variant", "version-then-flag"]
    assert main(base + ["--memory-model", "armv8", "--bound", "1"]) == 1
    out = capsys.readouterr().out
    assert "satisfied the two loads out of order" in out
    cmd = [ln for ln in out.splitlines() if ln.startswith("replay: ")][-1].split()[1:]
    assert cmd[:5] == ["ffaemu"] + base and cmd[-4:-2] == ["--memory-model", "armv8"] and cmd[-2] == "--schedule"
    assert main(cmd[1:]) == 1                      # the printed command replays the failure
    assert "FAILED: vCPU 1 was served with version 0x0" in capsys.readouterr().out
    assert main(base + ["--bound", "1"]) == 0       # sc: no failure
    assert "--memory-model sc: " in capsys.readouterr().out


def test_cli_sc_bounded_failure_replays_from_the_printed_command(capsys):
    base = ["explore", "xen-negotiation-race", "--variant", "unlocked-publish"]
    assert main(base + ["--bound", "1"]) == 1
    cmd = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("replay: ")][-1].split()
    assert main(cmd[2:]) == 1
    assert "FAILED: the VM was added to the VM list 2 times" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["--count", "5"], "--count needs --seed"),
    (["--seed", "1", "--replay", "2"], "exclude each other"),
    (["--memory-model", "armv8", "--schedule", "x"], "bad schedule 'x'"),
    (["--memory-model", "armv8", "--schedule", "999:1"], "schedule does not replay"),
    (["--schedule", "3:9"], "bad schedule '3:9'"),
    (["--memory-model", "tso"], "invalid choice: 'tso'"),
])
def test_cli_explore_bad_input(capsys, argv, message):
    assert main(["explore", "xen-negotiation-race", "--variant", "version-then-flag"] + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("ffaemu: error: ") and message in err and err.count("\n") == 1


def _as_run(out):
    return out.failure, [(s.vcpu, s.pc) for s in out.trace], out.preemptions


def test_schedules_sharing_prefixes_run_as_each_alone():
    # The bounded sc search forks schedules from the one without their last preemption
    # (explore._run_sharing_prefixes); each must be the schedule run alone, including
    # schedules whose later switch comes after the shorter one has ended (steps up to 40
    # past the default run's end here).
    from ffaemu.explore import _run_sharing_prefixes, _Schedules
    prog = Program("unlocked-publish")
    space = _Schedules(len(run_schedule(prog).trace) + 40, 2, 2)
    got = {}
    _run_sharing_prefixes(prog, space, lambda index: index % 23 == 5,
                          lambda pre, index, out: got.setdefault(index, (pre, out)))
    assert len(got) > 200 and any(out.failure for _, out in got.values())   # the bug is among them
    for index, (pre, out) in got.items():
        assert space.index(pre) == index
        assert _as_run(out) == _as_run(run_schedule(prog, list(pre))), pre


@pytest.mark.parametrize("length,vcpus,bound", [(2, 2, 2), (9, 2, 3), (7, 3, 3), (6, 4, 2)])
def test_schedule_numbers_follow_the_enumeration(length, vcpus, bound):
    # Shards and the first failure are defined by this order (by preemption count, then
    # itertools.combinations of the steps, then itertools.product of the targets).
    import itertools

    from ffaemu.explore import _Schedules
    space = _Schedules(length, vcpus, bound)
    expected = [tuple(zip(steps, targets)) for k in range(bound + 1)
                for steps in itertools.combinations(range(1, length), k)
                for targets in itertools.product(range(vcpus), repeat=k)
                if all(t != prev for t, prev in zip(targets, (0,) + targets))]
    assert [space.index(pre) for pre in expected] == list(range(len(expected)))
    assert sorted([()] + list(space.subtree(()))) == sorted(expected)
