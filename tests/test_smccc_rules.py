"""The SMCCC v1.2 / FF-A register rules (ffaemu/ffa/smccc_rules.py), rule by rule, on
hand-written answers: each case states what DEN0028C / DEN0077 require."""
from __future__ import annotations

from ffaemu.ffa.smccc_rules import Rule, check, check_deliveries, check_delivery, check_relay
from ffaemu.models.fw.echo_sp import ECHO_SPS, Delivery

VERSION, ID_GET, ERROR, SUCCESS = 0x8400_0063, 0x8400_0069, 0x8400_0060, 0x8400_0061
REQ2, RESP2, INIT = 0xC400_008D, 0xC400_008E, 0xC600_0001
REQ, RESP = 0x8400_006F, 0x8400_0070


def regs(*values, high=0):
    """x0-x17: `values` then `high + n` in x8-x17 (a recognisable caller pattern)."""
    out = list(values) + [0] * (8 - len(values))
    return out + [high + n if high else 0 for n in range(8, 18)]


def rules(violations):
    return [(v.rule, v.reg) for v in violations]


def test_smc32_preserves_x8_to_x17():
    """DEN0028C §2.6: an SMC32/HVC32 call from AArch64 preserves x8-x30."""
    args = regs(VERSION, 0x10002, high=0x100)
    assert check(args, regs(0x10002, high=0x100)) == []
    bad = regs(0x10002, high=0x100)
    bad[9] = 0
    assert rules(check(args, bad)) == [(Rule.SMC32_PRESERVES, 9)]


def test_smc32_results_upper_halves_are_free():
    """Bits [63:32] of an SMC32 result are not defined: any value passes."""
    args = regs(VERSION, 0x10002)
    # w1 = 0 (MBZ holds in the W view) with garbage above it, and garbage above w0.
    assert check(args, regs(0xDEAD_BEEF_0001_0002, 0xFFFF_FFFF_0000_0000)) == []


def test_smc64_unused_results_preserved_or_zero():
    """DEN0028C §2.7: x4-x17 not defined as results keep the caller's value (or are
    zero); pKVM's init hypercall defines x0 only, so x4-x17 = anything else is a leak."""
    args = regs(INIT, high=0x200)
    assert check(args, regs(0, high=0x200)) == []
    assert check(args, regs(0)) == []                                   # zero: allowed
    leak = regs(0, high=0x200)
    leak[12] = 0x5EC
    assert rules(check(args, leak)) == [(Rule.SMC64_UNUSED_PRESERVED, 12)]


def test_direct_resp2_defines_x4_to_x17():
    args = regs(REQ2, 0x8001, high=0x300)
    answer = regs(RESP2, 0x8001_0000, 0, 0, 4, 5, 6, 7, high=0x777)
    assert check(args, answer) == []


def test_ffa_reserved_registers_mbz():
    """DEN0077 v1.2: FFA_VERSION's w1-w7, FFA_ERROR's w3-w7 and FFA_SUCCESS's registers
    after the function's results are Reserved (MBZ); the W view is what counts."""
    assert rules(check(regs(VERSION, 0x10002), regs(0x10003, 0x10002))) == [(Rule.FFA_RESERVED_MBZ, 1)]
    assert rules(check(regs(ID_GET), regs(SUCCESS, 0, 0, 0x7))) == [(Rule.FFA_RESERVED_MBZ, 3)]
    assert check(regs(ID_GET), regs(SUCCESS, 0, 0, 0xFFFF_FFFF_0000_0000)) == []
    assert rules(check(regs(ID_GET), regs(ERROR, 0, 0xFFFF_FFFE, 0, 0, 9))) == [(Rule.FFA_RESERVED_MBZ, 5)]
    # SMCCC "unknown function": only x0 is the answer; the caller keeps x1-x7.
    assert check(regs(VERSION, 0x10002), regs(0xFFFF_FFFF_FFFF_FFFF, 0x10002)) == []


def test_proxy_relays_the_payload():
    callee = regs(RESP2, 0x8001_0000, 0, 0, 4, 5, 6, 7, high=0x900)
    assert check_relay(list(callee), callee) == []
    lost = list(callee)
    lost[10] = 0
    assert rules(check_relay(lost, callee)) == [(Rule.PROXY_RELAYS_PAYLOAD, 10)]


def test_delivery_is_exact():
    answer = regs(0x10002, high=0x100)
    got = list(answer)
    got[17] = 1
    assert rules(check_delivery("FFA_VERSION", answer, got)) == [(Rule.HARNESS_DELIVERS, 17)]


def test_declared_deviation_is_reported_as_declared():
    args = regs(VERSION, 0x10002, high=0x100)
    v = check(args, regs(0x10002), "EL2 pkvm", {"smc32-preserves-x8-x17": "assume SMC64"})
    assert len(v) == 10 and {x.declared for x in v} == {"assume SMC64"}
    assert str(v[0]) == ("EL2 pkvm: FFA_VERSION x8=0x0000000000000000, expected the caller's 0x108 "
                         "[smc32-preserves-x8-x17: DEN0028C §2.6: an SMC32/HVC32 call preserves "
                         "x8-x30] (declared: assume SMC64)")


def _delivery(sent, received):
    """A direct request through an echo SP: what it received, its response, and the
    firmware's answer carrying that response back unchanged."""
    response = ECHO_SPS[0].respond(sent[0], received)
    return Delivery(0x8001, received, response, sent, list(response))


def test_partition_gets_the_payload():
    """DEN0077 v1.2 §15.4-§15.5: REQ2's x4-x17 reach the SP as sent, RESP2's x4-x17
    reach the sender (what TF-A's SMC_RET8 to the EL3 SPMC broke before bb9fc8c0b)."""
    sent = regs(REQ2, 0x8001, 0, 0, 4, 5, 6, 7, high=0x900)
    assert check_deliveries([_delivery(sent, list(sent))]) == []
    stale = sent[:8] + [0] * 10                       # the SP context's x8-x17
    d = _delivery(sent, stale)
    assert rules(check_deliveries([d])) == [(Rule.PARTITION_GETS_PAYLOAD, n) for n in range(8, 18)]
    d.answer[8:] = sent[8:]                           # ... and the caller keeps its own
    assert len(check_deliveries([d])) == 20
    assert str(check_deliveries([d], "EL3 tfa-el3-spmc")[0]) == (
        "EL3 tfa-el3-spmc -> SP 0x8001: FFA_MSG_SEND_DIRECT_REQ2 x8=0x0000000000000000, expected the "
        "sender's 0x908 [direct-payload-delivered: DEN0077 v1.2 §15.2-§15.5: a direct message's "
        "payload reaches the receiver as sent]")


def test_partition_payload_32_bit_is_w3_to_w7():
    """The 32-bit DIRECT_REQ/RESP carry w3-w7 (DEN0028C §2.6: bits [63:32] are not the
    callee's); an error instead of the response is not a delivered response."""
    sent = regs(REQ, 0x8001, 0, 0xAAAA_0000_0000_0003, 4, 5, 6, 7)
    received = list(sent)
    received[3] = 3                                    # upper half dropped: same W view
    assert check_deliveries([_delivery(sent, received)]) == []
    received[7] = 0
    assert rules(check_deliveries([_delivery(sent, received)])) == [(Rule.PARTITION_GETS_PAYLOAD, 7)]
    refused = Delivery(0x8001, list(sent), ECHO_SPS[0].respond(REQ, sent), sent, regs(ERROR, 0, 0xFFFF_FFFE))
    refused.response[5] = 0
    assert check_deliveries([refused]) == []
