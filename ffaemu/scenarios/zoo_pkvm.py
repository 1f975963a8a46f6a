"""Bug zoo, pKVM (Linux arch/arm64/kvm/hyp/nvhe/ffa.c): four fixes, each an option of the
`pkvm` model (models/hyp/pkvm.py, Linux v6.18 with the fixes as defaults)."""
from __future__ import annotations

from ..ffa.abi import FfaId
from ..ffa.smccc import VendorHyp
from .zoo import Probe, Step, ZooScenario

MASK64 = 0xFFFF_FFFF_FFFF_FFFF
INIT = Step("PKVM_INIT", (VendorHyp.PKVM_INIT,), hvc=True)
V1_2 = Step("FFA_VERSION(1.2)", (FfaId.FFA_VERSION, 0x10002))
HIGH = tuple(0x1_0000_0000 * (n + 1) + n for n in range(4, 18))      # x4-x17, recognisable


def _pkvm(name, fix, title, summary, key, buggy, fixed, probe, note=""):
    return ZooScenario(name, "pKVM", fix, title, summary, "pkvm", "el2", key, buggy, fixed,
                       (probe,), note)


SCENARIOS = [
    _pkvm("pkvm-features-mask", "3f5952917498", "Mask response to FFA_FEATURE call",
          "hyp_ffa_post_init switched on the whole x2 of FFA_FEATURES(FFA_RXTX_MAP_64): an "
          "FF-A 1.2 SPMC's maximum-size bits [31:16] make pKVM refuse the host's FF-A",
          "features-mask", "off", "on",
          # Hafnium (tfa-spmd) answers w2 = 1 << 16 for a 1.2 caller (its mailbox size in
          # pages, api_ffa_features): the unmasked switch finds no 0/1/2 case, post-init
          # fails and the host's FFA_VERSION(1.2) gets NOT_SUPPORTED, sign-extended.
          Probe("tfa-spmd", "pkvm", (INIT, V1_2), 1,
                {"buggy": {0: MASK64}, "fixed": {0: 0x10002}}),
          note="BUGZOO's other trigger, garbage in x2[63:32], also breaks the fixed pKVM at "
               "FFA_ID_GET's 64-bit x2 compare (hyp_ffa_post_init)"),
    _pkvm("pkvm-version-downgrade", "f41426939244",
          "Correct return value on host version downgrade attempt",
          "after negotiation a lower minor FFA_VERSION was answered with the hypervisor's version",
          "downgrade", "answer", "refuse",
          Probe("tfa-spmd", "pkvm", (INIT, V1_2, Step("FFA_VERSION(1.1)", (FfaId.FFA_VERSION, 0x10001))), 2,
                {"buggy": {0: 0x10002}, "fixed": {0: MASK64}})),
    _pkvm("pkvm-ffa-range", "0dd60c4632a1", "identification range for the FF-A smcs",
          "FFA_MAX_FUNC_NUM was 0x7F: IDs 0x80-0xFF were not FF-A to pKVM and went to EL3 "
          "unfiltered, past the negotiation gate and the deny list",
          "ffa-max-func", "0x7f", "0xff",
          # FFA_SPM_ID_GET (0x85) before any FFA_VERSION: the gate's INVALID_PARAMETERS
          # (sign-extended by ffa_to_smccc_error) vs the SPMD's own SUCCESS, SPMC ID 0x8000.
          Probe("tfa-spmd", "pkvm", (INIT, Step("FFA_SPM_ID_GET", (FfaId.FFA_SPM_ID_GET,))), 1,
                {"buggy": {0: FfaId.FFA_SUCCESS, 2: 0x8000},
                 "fixed": {0: FfaId.FFA_ERROR, 2: 0xFFFF_FFFF_FFFF_FFFE}})),
    _pkvm("pkvm-smccc-1.2", "6f4c348b1d5c", "Use SMCCC 1.2 for FF-A init and host handler",
          "ffa_set_retval wrote x0-x3 only: x4-x17 of an answer pKVM makes keep the host's values",
          "retval-regs", "4", "18",
          Probe("tfa-spmd", "pkvm", (INIT, Step("FFA_VERSION(1.2), x4-x17 set",
                                                (FfaId.FFA_VERSION, 0x10002, 0, 0) + HIGH)), 1,
                {"buggy": {0: 0x10002, **{n: HIGH[n - 4] for n in (4, 7, 8, 17)}},
                 "fixed": {0: 0x10002, 4: 0, 7: 0, 8: 0, 17: 0}}),
          note="Linux v6.18 refuses DIRECT_REQ2 (ffa_call_supported), so BUGZOO's lost REQ2 "
               "payload is not reachable there; x4-x17 of the answers pKVM makes are"),
]
