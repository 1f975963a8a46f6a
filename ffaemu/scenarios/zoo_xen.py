"""Bug zoo, Xen (xen/arch/arm/tee/ffa*.c): two fixes, each an option of the `xen` model
(models/hyp/xen.py, Xen RELEASE-4.22.0 with the fixes as defaults)."""
from __future__ import annotations

from ..ffa.abi import FfaId
from .zoo import Probe, Step, ZooScenario

MASK64 = 0xFFFF_FFFF_FFFF_FFFF
V1_2 = Step("FFA_VERSION(1.2)", (FfaId.FFA_VERSION, 0x10002))
V1_0 = Step("FFA_VERSION(1.0)", (FfaId.FFA_VERSION, 0x10000))

SCENARIOS = [
    ZooScenario(
        "xen-features-sbz", "Xen", "4992308e97", "xen/arm: ffa: Fix FFA_FEATURES validation",
        "FFA_FEATURES was refused when any of x2-x7, read as 64-bit registers, was non-zero "
        "(since 538ab07bad): garbage in bits [63:32] of this SMC32 call broke it",
        "xen", "el2", "features-args", "check", "ignore",
        (Probe("tfa-spmd", "xen", (V1_2, Step("FFA_FEATURES(FFA_ID_GET), x2[63:32] set",
                                              (FfaId.FFA_FEATURES, FfaId.FFA_ID_GET, 1 << 32))), 1,
               {"buggy": {0: FfaId.FFA_ERROR, 2: 0xFFFF_FFFF},
                "fixed": {0: FfaId.FFA_SUCCESS, 2: 0}}),)),
    ZooScenario(
        "xen-fw-version", "Xen", "da07df5558", "xen/arm: ffa: Fix version negotiation",
        "Xen 4.18-4.19 accepted only firmware at its own 1.1 and mapped a guest's FFA_VERSION "
        "to 1.0 or 1.1; the fix accepts any 1.x >= 1.1 and answers its own version",
        "xen", "el2", "fw-version-check", "exact", "compatible",
        # Firmware at 1.3 (Hafnium): FF-A is off in the old Xen, FFA_VERSION is an unknown
        # SMC (x0 = -1). Firmware at 1.1 (OP-TEE 4.4): the guest's 1.0 is answered 1.0.
        (Probe("tfa-spmd", "xen", (V1_0,), 0, {"buggy": {0: MASK64}, "fixed": {0: 0x10002}}),
         Probe("optee:release=4.4", "xen", (V1_0,), 0,
               {"buggy": {0: 0x10000}, "fixed": {0: 0x10002}})),
        note="with a 1.1 firmware the old Xen answers 0x10000, the fixed one its own 1.2 "
             "(0x10002), not BUGZOO's 0x10001"),
]
