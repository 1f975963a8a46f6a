"""Width and register-rule fuzzing with hypothesis: garbage in bits [63:32] of SMC32
arguments and in x8-x17 must not change what a caller sees, and every layer's answers must
follow SMCCC v1.2 / FF-A (ffa/smccc_rules.py), through every hypervisor x firmware pair;
told nothing, the fuzzer finds each width bug and shrinks it to at most three calls."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from ffaemu.widthfuzz import FIRMWARE, HYPERVISORS, POOL, UPPERS, Case, observe, problems

CASES = st.builds(Case,
                  calls=st.lists(st.sampled_from(list(POOL)), min_size=1, max_size=6).map(tuple),
                  inputs=st.lists(st.integers(0, 0xFFFF_FFFF), max_size=48).map(tuple),
                  high=st.lists(st.integers(0, 2**64 - 1), max_size=60).map(tuple),
                  upper=st.sampled_from(UPPERS),
                  seed=st.integers(0, 2**32 - 1))
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
    @given(CASES)
    def check(case):
        runs.append(case)
        assert problems(el3, el2, case) == [], case

    check()
    assert len(runs) >= 60


def shrunk(el3s, el2s):
    """The minimal failing (el3, el2, case) hypothesis finds, searching the model pairs
    and the cases without being told where the bug is."""
    return find(st.tuples(st.sampled_from(el3s), st.sampled_from(el2s), CASES),
                lambda c: bool(problems(*c)), settings=SEARCH)


def test_finds_pkvm_u64_and_shrinks_it():
    el3, el2, case = shrunk(FIRMWARE, ["pkvm:version-check=u64"])
    # Minimal case: the first firmware in the list (TF-A without SPMD, which answers
    # FFA_VERSION with NOT_SUPPORTED), the init hypercall alone, no garbage in, and only
    # the firmware's width changed: zero-extended in the reference run (pKVM's 64-bit
    # compare misses -1 and it refuses), sign-extended here (the compare matches).
    assert el3 == "tfa"
    assert case == Case(calls=("pkvm-init",), inputs=(), high=(), upper="sign", seed=0)
    init_reference = observe(el3, el2, case.reference(el2)).outcome[1][0][0]
    init_shrunk = observe(el3, el2, case).outcome[1][0][0]
    assert (init_reference, init_shrunk) == (0xFFFF_FFFF_FFFF_FFA1, 0)   # -EOPNOTSUPP vs 0
