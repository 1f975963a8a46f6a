"""Width and register-rule fuzzing with hypothesis: garbage in bits [63:32] of SMC32
arguments and in x8-x17 must not change what a caller sees, and every layer's answers must
follow SMCCC v1.2 / FF-A (ffa/smccc_rules.py), through every hypervisor x firmware pair;
told nothing, the fuzzer finds each width bug and shrinks it to at most three calls."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from ffaemu.widthfuzz import (FIRMWARE, HYPERVISORS, POOL, UPPERS, Case, observe, outcome,
                              problems)

# pKVM (Linux v6.18 ffa.c) and Xen (4.22 ffa_private.h ffa_get_ret_code) compare the
# firmware's 64-bit x0 with FFA_SUCCESS, so they rely on firmware zero-extending x0, as
# every real SPMD/SPMC in FFA.md's table does: under them `--fw-upper` reaches x1-x7 only
# (x0_upper=False), and `test_hypervisors_rely_on_zero_extended_success` shows the rest.
CALLS = st.lists(st.sampled_from(list(POOL)), min_size=1, max_size=6).map(tuple)
INPUTS = st.lists(st.integers(0, 0xFFFF_FFFF), max_size=48).map(tuple)
HIGH = st.lists(st.integers(0, 2**64 - 1), max_size=60).map(tuple)


def cases(el2: str):
    return st.builds(Case, calls=CALLS, inputs=INPUTS, high=HIGH, upper=st.sampled_from(UPPERS),
                     seed=st.integers(0, 2**32 - 1), x0_upper=st.just(el2 == "none"))


def stacks(el3s, el2s):
    return st.sampled_from(el3s).flatmap(lambda el3: st.sampled_from(el2s).flatmap(
        lambda el2: st.tuples(st.just(el3), st.just(el2), cases(el2.split(":")[0]))))
EXAMPLES = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
SEARCH = settings(max_examples=400, deadline=None, database=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow])




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
    assert el3 == "tfa"
    assert case == Case(calls=("pkvm-init",), inputs=(), high=(), upper="sign", seed=0,
                        x0_upper=False)
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
