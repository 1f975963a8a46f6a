"""Width fuzzing with hypothesis: garbage in bits [63:32] must not change what an SMC32
caller sees, through every hypervisor x firmware pair; the u64 compare is found."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from ffaemu.widthfuzz import FIRMWARE, HYPERVISORS, UPPERS, Widths, differs, outcome

WIDTHS = st.builds(Widths,
                   inputs=st.lists(st.integers(0, 0xFFFF_FFFF), max_size=42).map(tuple),
                   upper=st.sampled_from(UPPERS),
                   seed=st.integers(0, 2**32 - 1))
EXAMPLES = settings(max_examples=200, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("el2", HYPERVISORS)
@pytest.mark.parametrize("el3", FIRMWARE)
def test_fixed_stacks_ignore_the_upper_halves(el3, el2):
    reference = outcome(el3, el2)
    # TF-A's SPMD without an SPMC hangs at the first call it forwards (real-firmware run,
    # tfa-2.14.6-spmd-nospmc.bios): the model stops there as a fault, unless the hypervisor
    # answers everything itself.
    assert reference[0] == "system-off" or (el3, reference[0]) == ("tfa-spmd:spmc=absent", "fault")

    runs = []

    @EXAMPLES
    @given(WIDTHS)
    def check(widths):
        runs.append(widths)
        assert outcome(el3, el2, widths) == reference, widths

    check()
    assert len(runs) >= 200


def test_finds_pkvm_u64_and_shrinks_it():
    """Nobody tells the fuzzer where the bug is: it searches firmware x widths."""
    case = find(st.tuples(st.sampled_from(FIRMWARE), WIDTHS),
                lambda c: differs(c[0], "pkvm:version-check=u64", c[1]),
                settings=settings(max_examples=300, deadline=None, database=None,
                                  derandomize=True))
    el3, widths = case
    # Minimal case: the first firmware in the list (TF-A without SPMD, which answers
    # FFA_VERSION with NOT_SUPPORTED), no garbage in the guest's arguments, and only the
    # firmware's width changed: zero-extended in the reference run (pKVM's 64-bit compare
    # misses -1 and it refuses), sign-extended here (the compare matches, pKVM starts).
    assert el3 == "tfa"
    assert widths == Widths(inputs=(), upper="sign", seed=0)
    init_reference = outcome(el3, "pkvm:version-check=u64")[1][0][0]
    init_shrunk = outcome(el3, "pkvm:version-check=u64", widths)[1][0][0]
    assert (init_reference, init_shrunk) == (0xFFFF_FFFF_FFFF_FFA1, 0)   # -EOPNOTSUPP vs 0
