"""Width fuzzing with hypothesis: garbage in bits [63:32] must not change what an SMC32
caller sees, through every hypervisor x firmware pair; the u64 compare is found."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from ffaemu.widthfuzz import FIRMWARE, HYPERVISORS, UPPERS, Widths, differs, outcome

INPUTS = st.lists(st.integers(0, 0xFFFF_FFFF), max_size=42).map(tuple)
WIDTHS = st.builds(Widths,
                   inputs=INPUTS,
                   upper=st.sampled_from(UPPERS),
                   seed=st.integers(0, 2**32 - 1))
EXAMPLES = settings(max_examples=200, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


# pKVM (Linux v6.18 ffa.c) and Xen (4.22 ffa_private.h ffa_get_ret_code) compare the
# firmware's 64-bit x0 with FFA_SUCCESS, so they rely on firmware zero-extending x0, as
# every real SPMD/SPMC in FFA.md's table does: under them the firmware's upper halves
# stay zero here, and `test_hypervisors_rely_on_zero_extended_success` shows the rest.
FW_ZERO = st.builds(Widths, inputs=INPUTS)


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
    @given(WIDTHS if el2 == "none" else FW_ZERO)
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
    reference, signed = outcome(el3, el2)[1], outcome(el3, el2, Widths(upper="sign"))[1]
    first = 1 if el2 == "pkvm" else 0            # pKVM's init hypercall comes first
    seen = {n: (signed[first + n][0], signed[first + n][2]) for n in changed}
    assert seen == changed
    assert all(reference[first + n] != signed[first + n] for n in changed)
