"""Bug zoo, TF-A (services/std_svc/spmd, spm/el3_spmc, bl31) and Hafnium (src/api.c):
seven fixes, each an option of the `tfa`, `tfa-spmd` or `tfa-el3-spmc` model (TF-A
lts-v2.14.6 / Hafnium v2.15.0 with the fixes as defaults; models/fw/bl31.py, hafnium.py,
tfa_el3_spmc.py)."""
from __future__ import annotations

from ..ffa import memdesc
from ..ffa.abi import FfaId
from .zoo import Probe, Step, ZooScenario, fill_tx

MASK64, NS_ZEXT = 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF
V1_1 = Step("FFA_VERSION(1.1)", (FfaId.FFA_VERSION, 0x10001))
V1_2 = Step("FFA_VERSION(1.2)", (FfaId.FFA_VERSION, 0x10002))
HIGH = tuple(0x5EC0_0000_0000_0000 + n for n in range(8, 18))       # x8-x17, recognisable
TX, RX, SHARED = 0x4040_0000, 0x4040_1000, 0x4050_0000               # guest RAM, 4 KiB aligned
DESC = memdesc.build(0, 0x8001, SHARED, 1)                            # v1.1+ layout, one range
REQ2 = (FfaId.FFA_MSG_SEND_DIRECT_REQ2, 0x8001, 0, 0, 0x44, 0x55, 0x66, 0x77) + HIGH


def _tf(name, project, fix, title, summary, model, key, buggy, fixed, probes, note="", expects_bug=True):
    return ZooScenario(name, project, fix, title, summary, model, "el3", key, buggy, fixed,
                       tuple(probes), note, expects_bug)


SCENARIOS = [
    _tf("tfa-spmd-error-width", "TF-A", "e46b2fd21", "SPM: Fix error codes size in SPMD handler",
        "the SPMD's own NOT_SUPPORTED and FFA_ERROR codes went out through int/uint64_t: "
        "sign-extended in x0 and x2 (the width pKVM's 64-bit compare later depended on)",
        "tfa-spmd", "result-width", "sext", "zext",
        [Probe("tfa-spmd", "none", (Step("FFA_VERSION(bit 31 set)", (FfaId.FFA_VERSION, 0x8001_0002)),), 0,
               {"buggy": {0: MASK64}, "fixed": {0: NS_ZEXT}}),
         Probe("tfa-spmd", "none", (Step("FFA_MSG_WAIT (secure only)", (FfaId.FFA_MSG_WAIT,)),), 0,
               {"buggy": {0: FfaId.FFA_ERROR, 2: MASK64}, "fixed": {0: FfaId.FFA_ERROR, 2: NS_ZEXT}})]),
    _tf("tfa-smc-unk-width", "TF-A", "4abd7fa71", "Redefine SMC_UNK as -1 instead of 0xFFFFFFFF",
        "an unknown SMC was answered with `mov w0, #0xffffffff`: x0 zero-extended",
        "tfa", "smc-unk", "zext", "sext",
        [Probe("tfa", "none", (V1_2,), 0, {"buggy": {0: NS_ZEXT}, "fixed": {0: MASK64}})]),
    _tf("tfa-spmd-version-regs", "TF-A", "76d53ee1a", "fix(spmd): fix FFA_VERSION forwarding",
        "a normal-world FFA_VERSION forwarded to the SPMC as a framework message came back "
        "with the secure context's x8-x17 (and x5-x7) instead of the caller's",
        "tfa-spmd", "version-forward", "leaky", "clean",
        [Probe("tfa-spmd", "none", (Step("FFA_VERSION(1.2), x8-x17 set",
                                         (FfaId.FFA_VERSION, 0x10002, 0, 0, 0, 0, 0, 0) + HIGH),), 0,
               {"buggy": {0: 0x10003, 8: 0, 17: 0}, "fixed": {0: 0x10003, 8: HIGH[0], 17: HIGH[9]}})],
        note="Hafnium's framework response writes x4-x7 as 0 (ffa_framework_msg_resp), so "
             "BUGZOO's x5-x7 leak does not show with this SPMC; x8-x17 do"),
    _tf("tfa-spmd-direct-req2", "TF-A", "bb9fc8c0b",
        "fix(el3-spmc): fixed x8-x17 register handling for FFA 1.2",
        "DIRECT_REQ2 went through whatever the negotiated versions (SMC_RET18 to an S-EL2 SPMC, "
        "SMC_RET8 to the EL3 SPMC); the fix refuses it below 1.2 and zeroes x8-x17 across versions",
        "tfa-spmd", "req2", "legacy", "gated",
        # A caller that negotiated 1.1 sends DIRECT_REQ2 to 0x8001. Fixed: the SPMD's
        # NOT_SUPPORTED (get_common_ffa_version() < 1.2). Before: Hafnium gets it and refuses
        # with DENIED; the EL3 SPMC delivers it and the SP's RESP2 comes back.
        [Probe("tfa-spmd", "none", (V1_1, Step("FFA_MSG_SEND_DIRECT_REQ2 to 0x8001", REQ2)), 1,
               {"buggy": {0: FfaId.FFA_ERROR, 2: 0xFFFF_FFFA},
                "fixed": {0: FfaId.FFA_ERROR, 2: NS_ZEXT}}),
         Probe("tfa-el3-spmc", "none", (V1_1, Step("FFA_MSG_SEND_DIRECT_REQ2 to 0x8001", REQ2)), 1,
               {"buggy": {0: FfaId.FFA_MSG_SEND_DIRECT_RESP2, 1: 0x8001_0000},
                "fixed": {0: FfaId.FFA_ERROR, 2: NS_ZEXT}})],
        note="the echo SPs answer x8-x17 with the caller's own values, so x8-x17 dropped by "
             "SMC_RET8 look the same as x8-x17 returned in the guest's registers; the width "
             "fuzzer's payload rule (direct-payload-delivered) sees them lost at the SP"),
    _tf("el3-spmc-desc-version", "TF-A", "6feaad6c6", "fix(el3-spmc): fix FF-A v1.2 version check",
        "the EL3 SPMC's memory-descriptor checks tested ffa_version == 1.1, so a 1.2 caller's "
        "MEM_SHARE was INVALID_PARAMETERS", "tfa-el3-spmc", "desc-version", "exact", "compatible",
        [Probe("tfa-el3-spmc", "none",
               (V1_2, Step("FFA_RXTX_MAP_64", (FfaId.FFA_RXTX_MAP_64, TX, RX, 1)),
                Step("FFA_MEM_SHARE (descriptor in TX)", (FfaId.FFA_MEM_SHARE, len(DESC), len(DESC)))), 2,
               {"buggy": {0: FfaId.FFA_ERROR, 2: 0xFFFF_FFFF_FFFF_FFFE},
                "fixed": {0: FfaId.FFA_SUCCESS, 2: 0xFFFF_FFC0, 3: 0}},
               prepare=fill_tx(TX, DESC))]),
    _tf("el3-spmc-direct-src", "TF-A", "48fe24c50", "fix(el3-spm): improve direct messaging validation",
        "the EL3 SPMC did not check a direct request's source ID against its caller: a normal-world "
        "request claiming a secure source reached the SP, whose response to that source was then "
        "refused, so the caller never got an answer",
        "tfa-el3-spmc", "direct-src", "unchecked", "checked",
        # TF-A v2.7.0 pair (spmd-src-check=absent: no 5519f07cd): the SPMD forwards, the
        # EL3 SPMC hands the request to SP 0x8001, whose FFA_MSG_SEND_DIRECT_RESP goes to
        # 0x8002, a secure ID other than the SPMC: direct_resp_smc_handler returns
        # INVALID_PARAMETERS to the SP and the normal world's call never returns (a hang).
        # Fixed: 48fe24c50's check in direct_req_smc_handler, spmc_ffa_error_return (x2
        # sign-extended).
        [Probe("tfa-el3-spmc:spmd-src-check=absent", "none",
               (V1_2, Step("FFA_MSG_SEND_DIRECT_REQ 0x8002 -> 0x8001",
                           (FfaId.FFA_MSG_SEND_DIRECT_REQ, 0x8002_8001, 0, 0x11, 0x22))), 1,
               {"buggy": {}, "fixed": {0: FfaId.FFA_ERROR, 2: MASK64 - 1}}, stops={"buggy": "fault"})],
        note="at lts-v2.14.6 the SPMD refuses a normal-world request with a secure source first "
             "(5519f07cd 'avoid spoofing', 2022-06-09, in v2.8.0): both variants run with "
             "tfa-el3-spmc:spmd-src-check=absent, the SPMD of TF-A v2.7.0, whose EL3 SPMC "
             "(direct_req_smc_handler) is the buggy one; 48fe24c50 (2022-11-15) is the fix"),
    _tf("hafnium-version-store", "Hafnium", "3cc9d6f4", "fix: FFA_VERSION checks compatibility rules",
        "any valid requested version was stored and Hafnium's own returned; the fix refuses an "
        "incompatible request (NOT_SUPPORTED) and does not store it",
        "tfa-spmd", "version-store", "any", "compatible",
        [Probe("tfa-spmd:spmc-version=1.1", "none", (Step("FFA_VERSION(1.3)", (FfaId.FFA_VERSION, 0x10003)),), 0,
               {"buggy": {0: 0x10001}, "fixed": {0: NS_ZEXT}})]),
]
