"""The lean trap path's mechanics (issue 13): what they must keep as it was.

pKVM's shortcuts (a negotiated FFA_VERSION answered without a generator, untouched FF-A
calls straight to the pass-through) must keep the documented way of extending it
(`return (yield from super().__call__(trap))`) and must step aside for a subclass that
changes the routing; the run's collector pace is put back; call records read in the
middle of a call are completed when it returns.
"""
from __future__ import annotations

import gc
from pathlib import Path

import pytest

from hyp_regs import FFA_SUCCESS, KEPT, MASK64, R, hvc, last, smc
from ffaemu.regguest import run_table
from ffaemu.gcpolicy import RUN_THRESHOLD0
from ffaemu.models.hyp import HYPERVISORS
from ffaemu.models.hyp.pkvm import Pkvm
from ffaemu.trace import CallTracer

VERSION, ID_GET = 0x8400_0063, 0x8400_0069
ROOT = Path(__file__).resolve().parent.parent
NEGOTIATED = [hvc(0xC600_0001), smc(VERSION, 0x10002)]


class YieldFromPkvm(Pkvm):
    """The extension pattern of ffaemu/api.py and the README."""

    def __call__(self, trap):
        return (yield from super().__call__(trap))


class VersionPatchPkvm(Pkvm):
    """A local patch of do_ffa_version: answers 1.5 once negotiated."""

    def _version(self, trap):
        res = yield from super()._version(trap)
        res[0] = 0x10005
        return res


def test_pkvm_extended_with_yield_from_answers_as_pkvm(monkeypatch):
    monkeypatch.setitem(HYPERVISORS._factories, "pkvm-yield", (YieldFromPkvm, "test"))
    calls = NEGOTIATED + [smc(VERSION, 0x10002), smc(ID_GET)]
    # ffa.c do_ffa_version (v6.18), negotiated: res->a0 = hyp_ffa_version (1.2 here), the
    # rest of `res` zero (CONFIG_INIT_STACK_ALL_ZERO; see Pkvm._version); FFA_ID_GET is
    # passed through: the TF-A SPMD answers FFA_SUCCESS, w2 = ID 0, x3-x7 MBZ (SMC_RET8 in
    # spmd_smc_handler), x8-x17 the caller's; pKVM hands back all 18 registers.
    assert last("tfa-spmd", "pkvm-yield", calls[:3]) == R(0x10002) == last("tfa-spmd", "pkvm", calls[:3])
    assert last("tfa-spmd", "pkvm-yield", calls) == R(FFA_SUCCESS, 0, 0, rest="kept") == \
        last("tfa-spmd", "pkvm", calls)


def test_pkvm_subclass_that_changes_routing_gets_no_shortcut(monkeypatch):
    monkeypatch.setitem(HYPERVISORS._factories, "pkvm-v15", (VersionPatchPkvm, "test"))
    assert VersionPatchPkvm._shortcuts is False and Pkvm._shortcuts is True
    assert last("tfa-spmd", "pkvm-v15", NEGOTIATED + [smc(VERSION, 0x10002)]) == R(0x10005)


def _threshold_seen(monkeypatch, seen: list) -> None:
    class Recording(Pkvm):
        def __call__(self, trap):
            seen.append(gc.get_threshold()[0])
            return (yield from super().__call__(trap))
    monkeypatch.setitem(HYPERVISORS._factories, "pkvm-gc", (Recording, "test"))


def test_collector_pace_is_raised_during_a_run_and_restored(monkeypatch):
    seen: list[int] = []
    _threshold_seen(monkeypatch, seen)
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        last("tfa-spmd", "pkvm-gc", NEGOTIATED)
        assert gc.get_threshold() == (700, 10, 10)
        assert seen and set(seen) == {RUN_THRESHOLD0}
        seen.clear()
        gc.disable()
        last("tfa-spmd", "pkvm-gc", NEGOTIATED)
        assert not gc.isenabled() and gc.get_threshold() == (700, 10, 10)
    finally:
        gc.enable()
        gc.set_threshold(*saved)


def test_call_record_read_before_its_call_returns_is_completed():
    tracer = CallTracer()
    xs, out = list(range(18)), [7] * 18
    tracer.enter(1, 2, "pkvm", xs, "", True)
    first = tracer.records[0]
    assert (first.args, first.args_full, first.ret, first.depth) == (xs[:8], xs, None, 0)
    tracer.enter(2, 3, "tfa-spmd", xs)
    tracer.forget()                                   # declined: not recorded
    tracer.leave(out, True)
    assert tracer.records == [first] and (first.ret, first.ret_full) == ([7] * 8, out)
    assert list(tracer.view()) == [first] and tracer.view() == [first]


class ReturnedForwardPkvm(Pkvm):
    """Every host SMC passed through, by returning the forward (trap.py)."""

    traps_smc = True

    def __call__(self, trap):
        return trap.forward()


class YieldedForwardPkvm(Pkvm):
    """The same pass-through as a generator: `_pass_through` of pkvm.py."""

    traps_smc = True

    def __call__(self, trap):
        res = yield trap.forward()
        return trap.ret(*res.xs)


@pytest.mark.parametrize("el3, expected", [
    # TF-A SPMD, spmd_smc_handler: FFA_SUCCESS, w2 = ID 0, x3-x7 MBZ (SMC_RET8), x8-x17 kept.
    ("tfa-spmd", R(FFA_SUCCESS, 0, 0, rest="kept")),
    # asm/el3/lib/monitor.S: any other function -> x0 = -1, every other register kept.
    (str(ROOT / "asm/el3/monitor_ns_zext.S"), KEPT(MASK64)),
])
def test_returned_forward_passes_through_as_a_generator_does(monkeypatch, el3, expected):
    monkeypatch.setitem(HYPERVISORS._factories, "pass-ret", (ReturnedForwardPkvm, "test"))
    monkeypatch.setitem(HYPERVISORS._factories, "pass-gen", (YieldedForwardPkvm, "test"))
    (run_ret, ret), (run_gen, gen) = (run_table(el3, el2, [smc(ID_GET)]) for el2 in ("pass-ret", "pass-gen"))
    assert ret[-1] == gen[-1] == expected
    assert [c.as_json() for c in run_ret.result.calls] == [c.as_json() for c in run_gen.result.calls]
    assert len(run_ret.result.calls) == 4         # ID_GET and SYSTEM_OFF, each EL1->EL2->EL3
