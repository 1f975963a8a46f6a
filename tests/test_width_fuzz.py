"""Width and register-rule fuzzing with hypothesis: garbage in bits [63:32] of SMC32
arguments and in x8-x17 must not change what a caller sees, and every layer's answers must
follow SMCCC v1.2 / FF-A (ffa/smccc_rules.py), through every hypervisor x firmware pair;
told nothing, the fuzzer finds each width bug and shrinks it to at most three calls."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers as _providers

from ffaemu.widthfuzz import (FIRMWARE, HYPERVISORS, POOL, UPPERS, Case, forget, observe,
                              outcome, problems)

# pKVM (Linux v6.18 ffa.c) and Xen (4.22 ffa_private.h ffa_get_ret_code) compare some of
# the firmware's results as 64-bit values (x0 with FFA_SUCCESS; pKVM also x2 of FFA_ID_GET),
# relying on the zero-extension every real SPMD/SPMC in FFA.md's table gives: under them a
# correct stack is fuzzed with the firmware zero-extending, and
# `test_hypervisors_rely_on_zero_extended_success` shows the rest. A search may aim
# `--fw-upper` at x1-x7 of the answers to some functions (Case.upper_on).
CALLS = st.lists(st.sampled_from(list(POOL)), max_size=5).map(tuple)
INPUTS = st.lists(st.integers(0, 0xFFFF_FFFF), max_size=48).map(tuple)
HIGH = st.lists(st.integers(0, 2**64 - 1), max_size=60).map(tuple)
AIMED = st.none() | st.lists(st.sampled_from(["FFA_VERSION", "FFA_ID_GET", "FFA_FEATURES",
                                              "FFA_PARTITION_INFO_GET", "FFA_MSG_SEND_DIRECT_REQ"]),
                             max_size=3).map(tuple)


def cases(el2: str, search: bool = False):
    uppers = UPPERS if el2 == "none" or search else ("zero",)
    return st.builds(Case, calls=CALLS, inputs=INPUTS, high=HIGH, upper=st.sampled_from(uppers),
                     seed=st.integers(0, 2**32 - 1), upper_on=AIMED if search else st.none())


def stacks(el3s, el2s):
    return st.sampled_from(el3s).flatmap(lambda el3: st.sampled_from(el2s).flatmap(
        lambda el2: st.tuples(st.just(el3), st.just(el2), cases(el2.split(":")[0], True))))


EXAMPLES = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
# A search is deterministic: derandomized, no example database, and no phase that
# depends on wall time (the explain phase, which also more than doubled a search's time).
SEARCH = settings(max_examples=400, deadline=None, database=None, derandomize=True,
                  phases=(Phase.generate, Phase.shrink), suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("el2", HYPERVISORS)
@pytest.mark.parametrize("el3", FIRMWARE)
def test_fixed_stacks_follow_the_rules(el3, el2):
    # TF-A's SPMD without an SPMC hangs at the first call it forwards (real-firmware run,
    # tfa-2.14.6-spmd-nospmc.bios): the model stops there as a fault, unless the hypervisor
    # answers everything itself.
    end = observe(el3, el2).outcome[0]
    assert end == "system-off" or (el3, end) == ("tfa-spmd:spmc=absent", "fault")
    runs = []

    @EXAMPLES
    @given(cases(el2))
    def check(case):
        runs.append(case)
        assert problems(el3, el2, case) == [], case

    check()
    assert len(runs) >= 60


@pytest.fixture(autouse=True)
def fresh_process_state(request, monkeypatch):
    """Each search starts with no booted machine and no cached reference run, so what it
    finds, and after how many examples, cannot depend on which tests ran before it in
    this process (xdist scheduling). For the same reason hypothesis's pool of "local
    constants" is pinned empty: hypothesis (6.1xx, internal/conjecture/providers.py
    `_get_local_constants`) also draws integers from the constants of every project module
    loaded so far, so a search run after a test that imported, say, ffaemu.scenarios drew
    other examples (and features-mask=off found nothing in 1,000)."""
    if request.node.name.startswith("test_finds_"):
        forget()
    monkeypatch.setattr(_providers, "_get_local_constants", _providers.Constants)
    _providers.CONSTANTS_CACHE.cache.clear()
    yield
    _providers.CONSTANTS_CACHE.cache.clear()


def shrunk(el3s, el2s):
    """The minimal failing (el3, el2, case) hypothesis finds, searching the model pairs
    and the cases without being told where the bug is."""
    return find(stacks(el3s, el2s), lambda c: bool(problems(*c)), settings=SEARCH)


def test_finds_pkvm_u64_and_shrinks_it():
    el3, el2, case = shrunk(FIRMWARE, ["pkvm:version-check=u64"])
    # Minimal case: the first firmware in the list (TF-A without SPMD, which answers
    # FFA_VERSION with NOT_SUPPORTED), the init hypercall alone, no garbage in, and only
    # the firmware's width changed: zero-extended in the reference run (pKVM's 64-bit
    # compare misses -1 and it refuses), sign-extended here (the compare matches).
    # (`upper_on=()` leaves every answer as modelled: TF-A's SMC_UNK is sign-extended.)
    assert el3 == "tfa"
    assert (case.calls, case.inputs, case.high) == ((), (), ())
    init_reference = observe(el3, el2, case.reference(el2)).outcome[1][0][0]
    init_shrunk = observe(el3, el2, case).outcome[1][0][0]
    assert (init_reference, init_shrunk) == (0xFFFF_FFFF_FFFF_FFA1, 0)   # -EOPNOTSUPP vs 0


# (x0, x2) the guest sees, per call of widthfuzz.CALLS (after pKVM's init hypercall).
PKVM_SEES_NS = {
    # hyp_ffa_post_init: `res.a0 != FFA_SUCCESS` on the whole x0 of FFA_ID_GET, so the
    # host's FFA_VERSION(1.2) is answered NOT_SUPPORTED (do_ffa_version) ...
    0: (0xFFFF_FFFF, 0),
    # ... and pKVM never negotiates: FFA_ID_GET gets INVALID_PARAMETERS.
    1: (0x8400_0060, 0xFFFF_FFFE),
}
XEN_SEES_NO_SPMC = {
    # ffa_probe_fw: ffa_get_ret_code() switches on the whole x0 of each FFA_FEATURES answer,
    # so no ABI is "supported", the SP cache is empty: the count is the caller alone (1.2
    # guest, FFA_VM_TO_VM) instead of 2 SPs + 1 ...
    3: (0x8400_0061, 1),
    # ... and DIRECT_REQ is refused (ffa_handle_msg_send_direct_req: fw lacks the fid).
    4: (0x8400_0060, 0xFFFF_FFFF),
}


@pytest.mark.parametrize("el3", ["tfa-spmd", "optee"])
@pytest.mark.parametrize("el2, changed", [("pkvm", PKVM_SEES_NS), ("xen", XEN_SEES_NO_SPMC)])
def test_hypervisors_rely_on_zero_extended_success(el3, el2, changed):
    """A firmware that sign-extends its SMC32 results (legal: callers must read W views)
    breaks both upstream hypervisors at exactly these calls."""
    reference, signed = outcome(el3, el2)[1], outcome(el3, el2, Case(upper="sign"))[1]
    first = 1 if el2 == "pkvm" else 0            # pKVM's init hypercall comes first
    seen = {n: (signed[first + n][0], signed[first + n][2]) for n in changed}
    assert seen == changed
    assert all(reference[first + n] != signed[first + n] for n in changed)


def found(buggy: str, fixed: str, layer: str, examples: int = 400):
    """Told nothing but the option to look at, the fuzzer searches model pairs and cases
    for one where `buggy` breaks a register rule or the width invariance and `fixed` does
    not, and shrinks it."""
    def fails(c):
        el3, el2, case = c
        swap = (lambda spec: (el3, fixed) if spec == "el2" else (fixed, el2))(layer)
        return bool(problems(el3, el2, case)) and not problems(*swap, case)
    pairs = stacks(FIRMWARE, [buggy]) if layer == "el2" else stacks([buggy], HYPERVISORS)
    return find(pairs, fails, settings=settings(SEARCH, max_examples=examples))


def test_finds_pkvm_retval_regs_4():
    el3, el2, case = found("pkvm:retval-regs=4", "pkvm", "el2")
    # ffa_set_retval wrote x0-x3: an answer pKVM builds itself keeps the host's x4-x7, so a
    # PARTITION_INFO_GET count query (w5 = flags = 1) comes back with w5 = 1 where
    # DEN0077 says MBZ. At most three calls (after pKVM's init hypercall).
    assert len(case.calls) <= 3 and case.calls[-1] == "partition-count"
    v = observe(el3, el2, case).violations
    assert any(x.rule.value == "ffa-reserved-mbz" and x.reg == 5 and x.got & 0xFFFF_FFFF == 1
               for x in v)


def test_finds_pkvm_features_mask_off():
    # Rarer than the others: only OP-TEE writes x2 of this answer at all (the EL3 SPMC
    # answers FFA_FEATURES with SMC_RET1, Hafnium with w2 = 1 << 16 that both variants
    # see), and garbage must reach that one register only. The search is deterministic
    # (SEARCH, and the constants pool pinned): 307 examples in all, every run, under xdist
    # or not.
    el3, el2, case = found("pkvm:features-mask=off", "pkvm", "el2", examples=1000)
    # Garbage in bits [63:32] of one register of one firmware answer: x2 of the answer to
    # pKVM's own FFA_FEATURES(FFA_RXTX_MAP_64) (hyp_ffa_post_init), so the host's
    # FFA_VERSION is NOT_SUPPORTED instead of a version (W view).
    assert len(case.calls) <= 3 and case.calls[0] in ("version-1.2", "version-1.1")
    assert case.upper == "garbage" and "FFA_FEATURES" in case.upper_on
    ref = observe(el3, el2, case.reference(el2)).outcome[1][1][0]
    assert ref in (0x10001, 0x10002) and observe(el3, el2, case).outcome[1][1][0] == 0xFFFF_FFFF


def test_finds_tfa_spmd_version_forward_leaky():
    el3, el2, case = found("tfa-spmd:version-forward=leaky", "tfa-spmd", "el3")
    # The SPMC context's x8-x17 (zero before any secure activity) replace the caller's:
    # one FFA_VERSION with a non-zero x8 breaks DEN0028C §2.6 at the EL3 layer.
    assert len(case.calls) <= 3 and {"version-1.2", "version-1.1"} & set(case.calls)
    v = observe(el3, el2, case).violations
    assert any(x.rule.value == "smc32-preserves-x8-x17" and x.layer == "EL3 tfa-spmd" for x in v)


def test_finds_el3_spmc_req2_legacy():
    el3, el2, case = found("tfa-el3-spmc:req2=legacy", "tfa-el3-spmc", "el3")
    # Before bb9fc8c0b the SPMD's switch to the EL3 SPMC's SP was SMC_RET8: the SP gets
    # its context's stale x8-x17 (0 before any secure activity) instead of the sender's,
    # and its RESP2's x8-x17 never reach the caller. One DIRECT_REQ2 with a non-zero
    # x8-x17 breaks DEN0077 v1.2 §15 (REQ2: x4-x17 are the payload) at the partition.
    assert len(case.calls) <= 3 and "direct-req2" in case.calls
    v = observe(el3, el2, case).violations
    assert any(x.rule.value == "direct-payload-delivered" and x.call == "FFA_MSG_SEND_DIRECT_REQ2"
               and 8 <= x.reg <= 17 and x.got == 0 for x in v)


@pytest.mark.parametrize("el3, kept", [("tfa-spmd", True), ("tfa-el3-spmc", True),
                                       ("tfa-el3-spmc:req2=legacy", False)])
def test_partitions_receive_the_payload(el3, kept):
    """The echo SP behind each SPMC records what it received (echo_sp.Delivery): a 1.2
    caller's DIRECT_REQ2 reaches it with x4-x17 as sent (DEN0077 v1.2 §15.4), except
    through the EL3 SPMC before bb9fc8c0b (SMC_RET8: the SP context's x8-x17, 0 here)."""
    from ffaemu.widthfuzz import _table, run_calls
    case = Case(calls=("version-1.2", "direct-req2"), high=tuple(range(1, 21)))
    _, run, regs = run_calls(el3, "none", _table(case, "none"), reuse=False)
    (d,) = run.firmware.ffa.deliveries
    assert d.sent[:8] == [0xC400_008D, 0x8001, 0, 0, 0x4444, 0x5555, 0x6666, 0x7777]
    assert d.sent[8:] == list(range(11, 21))          # the second call's x8-x17
    assert d.received[4:] == (d.sent[4:] if kept else d.sent[4:8] + [0] * 10)
    assert regs[1][0] == 0xC400_008E                   # FFA_MSG_SEND_DIRECT_RESP2
    rule = [v for v in observe(el3, "none", case).violations if v.rule.value == "direct-payload-delivered"]
    assert len(rule) == (0 if kept else 20)           # x8-x17 in, and x8-x17 back out


ASM_MONITORS = ["asm/el3/monitor_ns_sext.S", "asm/el3/monitor_ns_zext.S"]


@pytest.mark.parametrize("el3", ASM_MONITORS)
def test_harness_assembly_monitors_follow_the_rules(el3):
    """The provided EL3 monitors, entered through the harness's EL3 stub and vectors, are
    checked at the guest view: an SMC32 call's x8-x17 come back untouched (DEN0028C §2.6)."""
    from conftest import ROOT
    spec = str(ROOT / el3)

    @settings(max_examples=25, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(cases("none"))
    def check(case):
        assert problems(spec, "none", case) == [], case

    check()


def test_partitions_record_only_for_the_fuzzer():
    """The width fuzzer asks for the partitions' log (one Delivery per direct request);
    any other run records nothing, so a long run of direct requests grows no log."""
    from ffaemu.models.fw.base import FfaServices
    from ffaemu.runner import build_guest
    from ffaemu.regguest import guest
    from ffaemu.widthfuzz import _table, run_calls
    case = Case(calls=("version-1.2", "direct-req2"))
    _, run, _ = run_calls("tfa-el3-spmc", "none", _table(case, "none"), reuse=False)
    assert len(run.firmware.ffa.deliveries) == 1
    assert FfaServices().deliveries is None
    assert build_guest(guest()[0], "tfa-el3-spmc", "none").firmware.ffa.deliveries is None
