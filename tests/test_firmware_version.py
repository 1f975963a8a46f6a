"""FFA_VERSION of each firmware model against FFA.md, with the W view and the width of
every error. Sequences run on a fresh model; each step is (call, expected x0 as 64 bits)
or, for FFA_ERROR answers, (call, ("error", code, expected x2 as 64 bits)).
"""
from __future__ import annotations

import pytest

from ffaemu.ffa.abi import FfaId
from ffaemu.ffa.conv import Call
from ffaemu.machine import Machine
from ffaemu.models.fw import FIRMWARE

ZEXT_NS = 0x0000_0000_FFFF_FFFF          # w0 = NOT_SUPPORTED, bits [63:32] zero
SEXT_NS = 0xFFFF_FFFF_FFFF_FFFF          # NOT_SUPPORTED (or SMCCC -1) sign-extended
ZEXT_INVAL_NS = ZEXT_NS


def V(req):                               # FFA_VERSION(req)
    return [FfaId.FFA_VERSION, req]


ID_GET = [FfaId.FFA_ID_GET]
V1_1, V1_2, V1_3, V1_4, V2_0, BIT31 = 0x10001, 0x10002, 0x10003, 0x10004, 0x20000, 0x8001_0002

CASES = {
    # TF-A without SPMD: every FF-A ID is an unknown SMC, -1 sign-extended (FFA.md table).
    ("tfa", "own"): [(V(V1_2), SEXT_NS)],
    ("tfa", "lower minor"): [(V(V1_1), SEXT_NS)],
    ("tfa", "higher minor"): [(V(V1_4), SEXT_NS)],
    ("tfa", "other major"): [(V(V2_0), SEXT_NS)],
    ("tfa", "zero"): [(V(0), SEXT_NS)],
    ("tfa", "bit 31"): [(V(BIT31), SEXT_NS)],
    ("tfa", "after the lock"): [(ID_GET, SEXT_NS), (V(V1_2), SEXT_NS)],
    ("tfa", "non-VERSION first"): [(ID_GET, SEXT_NS)],
    # TF-A lts-v2.14.6 SPMD + Hafnium v2.15.0 (FFA_VERSION_COMPILED 1.3); see
    # tests/test_fw_audit_registers.py for x1-x17 of each of these calls.
    ("tfa-spmd", "own"): [(V(V1_3), V1_3)],
    ("tfa-spmd", "lower minor"): [(V(V1_2), V1_3)],
    ("tfa-spmd", "higher minor"): [(V(V1_4), ZEXT_NS)],       # api_ffa_version: incompatible
    ("tfa-spmd", "other major"): [(V(V2_0), ZEXT_NS)],
    ("tfa-spmd", "zero"): [(V(0), ZEXT_NS)],
    ("tfa-spmd", "bit 31"): [(V(BIT31), ZEXT_NS)],              # spmd_smc_handler
    ("tfa-spmd", "after the lock"): [(V(V1_2), V1_3), (ID_GET, ("success", 0)),
                                     (V(V1_1), ZEXT_NS), (V(V1_2), V1_3)],
    # FFA_ID_GET is answered by the SPMD and never reaches Hafnium, so the first
    # FFA_VERSION after it is still free; that FFA_VERSION (a framework direct request)
    # ends Hafnium's negotiation (handler.c hvc_smc_handler), so 1.3 is refused next.
    # (Was: ID_GET ends negotiation at 1.3 -- ungrounded.)
    ("tfa-spmd", "non-VERSION first"): [(ID_GET, ("success", 0)), (V(V1_2), V1_3), (V(V1_3), ZEXT_NS)],
    # The SPMD answers FFA_ID_GET itself, SPMC or not (real-firmware run,
    # tfa-2.14.6-spmd-nospmc.bios: FFA_SUCCESS_32, w2 = 0).
    ("tfa-spmd:spmc=absent", "own"): [(V(V1_3), ZEXT_NS), (ID_GET, ("success", 0))],
    # TF-A lts-v2.14.6 EL3 SPMC: ffa_version_handler stores any request (no compatibility
    # check, no lock) and answers 1.2; only the SPMD's bit-31 check refuses. FFA_ID_GET is
    # the SPMD's own answer. (Was: records until a lock, refuses calls before a
    # compatible FFA_VERSION -- not in this release.)
    ("tfa-el3-spmc", "own"): [(V(V1_2), V1_2)],
    ("tfa-el3-spmc", "lower minor"): [(V(V1_1), V1_2), (ID_GET, ("success", 0)), (V(V1_2), V1_2)],
    ("tfa-el3-spmc", "higher minor"): [(V(V1_3), V1_2), (ID_GET, ("success", 0))],
    ("tfa-el3-spmc", "other major"): [(V(V2_0), V1_2), (ID_GET, ("success", 0))],
    ("tfa-el3-spmc", "zero"): [(V(0), V1_2), (ID_GET, ("success", 0))],
    ("tfa-el3-spmc", "bit 31"): [(V(BIT31), ZEXT_NS)],
    ("tfa-el3-spmc", "after the lock"): [(V(V1_2), V1_2), (ID_GET, ("success", 0)), (V(V1_1), V1_2)],
    ("tfa-el3-spmc", "non-VERSION first"): [(ID_GET, ("success", 0)), (V(V1_2), V1_2)],
    # An error of the EL3 SPMC itself (spmc_ffa_error_return: int code) is sign-extended.
    ("tfa-el3-spmc", "SPMC error width"): [(V(V1_2), V1_2), ([FfaId.FFA_FEATURES, 2], ("error", -1, SEXT_NS))],
    # SPMD + OP-TEE 1.2: always 1.2 (the SPMD still refuses bit 31), renegotiation allowed.
    ("optee", "own"): [(V(V1_2), V1_2)],
    ("optee", "lower minor"): [(V(V1_1), V1_2)],
    ("optee", "higher minor"): [(V(V1_3), V1_2)],
    ("optee", "other major"): [(V(V2_0), V1_2)],
    ("optee", "zero"): [(V(0), V1_2)],
    ("optee", "bit 31"): [(V(BIT31), ZEXT_NS)],
    ("optee", "after the lock"): [(V(V1_2), V1_2), (ID_GET, ("success", 0)), (V(V1_1), V1_2)],
    ("optee", "non-VERSION first"): [(ID_GET, ("success", 0)), (V(V1_2), V1_2)],
}


def _describe(x: int) -> str:
    return f"{x:#018x} (w={x & 0xFFFFFFFF:#x})"


@pytest.mark.parametrize("spec, case", CASES, ids=[f"{s}-{c}" for s, c in CASES])
def test_version_table(spec, case):
    model = FIRMWARE.create(spec)
    mem = Machine().memory
    for regs, expected in CASES[(spec, case)]:
        xs = list(regs) + [0] * (8 - len(regs))
        # Garbage in bits [63:32] of the SMC32 inputs must be ignored (DEN0028 §2.6).
        xs[1] |= 0xDEAD_BEEF_0000_0000
        got = model.fill(model.handle(Call(xs), mem))
        if isinstance(expected, int):
            assert got[0] == expected, f"{regs}: x0 = {_describe(got[0])}, want {_describe(expected)}"
        elif expected[0] == "success":
            assert got[0] & 0xFFFF_FFFF == FfaId.FFA_SUCCESS and got[2] == expected[1]
        else:
            _, code, x2 = expected
            if spec == "tfa":
                assert got[0] == x2
            else:
                assert got[0] == FfaId.FFA_ERROR and got[2] == x2, f"x2 = {_describe(got[2])}"
                assert (got[2] & 0xFFFF_FFFF) == code & 0xFFFF_FFFF


@pytest.mark.parametrize("upper", ["zero", "sign", "garbage"])
def test_upper_policy_changes_only_bits_63_32(upper):
    real = FIRMWARE.create("tfa-spmd:spmc=absent")
    other = FIRMWARE.create("tfa-spmd:spmc=absent", upper=upper, seed=7)
    mem = Machine().memory
    a = real.fill(real.handle(Call([FfaId.FFA_VERSION, V1_2]), mem))
    b = other.fill(other.handle(Call([FfaId.FFA_VERSION, V1_2]), mem))
    assert [v & 0xFFFF_FFFF for v in a] == [v & 0xFFFF_FFFF for v in b]
    expected_upper = {"zero": 0, "sign": 0xFFFF_FFFF}.get(upper)
    if expected_upper is not None:
        assert b[0] >> 32 == expected_upper
    else:
        assert b[0] >> 32 not in (0, 0xFFFF_FFFF)


def test_unknown_option_and_value():
    from ffaemu.errors import FfaemuError
    with pytest.raises(FfaemuError, match="invalid value 'gone' for tfa-spmd:spmc \\(valid: present, absent\\)"):
        FIRMWARE.create("tfa-spmd:spmc=gone")
    with pytest.raises(FfaemuError, match="firmware model 'optee' has no option 'spmc'"):
        FIRMWARE.create("optee:spmc=absent")
    with pytest.raises(FfaemuError, match="invalid value 'huge' for --fw-upper"):
        FIRMWARE.create("tfa", upper="huge")
