"""SMC Calling Convention function identifiers (DEN0028 §2.5) and common results."""
from __future__ import annotations

import enum

from ..arch.bits import Field, sext32

FID_FAST = Field(31, 31)          # 1 = fast call, 0 = yielding
FID_SMC64 = Field(30, 30)         # 1 = SMC64/HVC64, 0 = SMC32/HVC32
FID_OWNER = Field(29, 24)
FID_NUMBER = Field(15, 0)


class Owner(enum.IntEnum):
    """Owning entity numbers (DEN0028 §2.5 table 2-1)."""

    ARM_ARCH = 0
    CPU = 1
    SIP = 2
    OEM = 3
    STANDARD = 4      # PSCI, FF-A
    STANDARD_HYP = 5
    VENDOR_HYP = 6


def fid(number: int, owner: Owner, smc64: bool = False, fast: bool = True) -> int:
    """Compose a function identifier from its fields (TF-A's FFA_FID style)."""
    return (FID_FAST.prep(int(fast)) | FID_SMC64.prep(int(smc64)) |
            FID_OWNER.prep(owner) | FID_NUMBER.prep(number))


# "Unknown SMC function identifier" is -1; TF-A writes it sign-extended in x0.
SMCCC_NOT_SUPPORTED = -1
SMCCC_UNKNOWN_X0 = sext32(-1)


class Psci(enum.IntEnum):
    """PSCI function IDs used here (DEN0022 §5.1), SMC32."""

    VERSION = fid(0x00, Owner.STANDARD)
    CPU_OFF = fid(0x02, Owner.STANDARD)
    SYSTEM_OFF = fid(0x08, Owner.STANDARD)


PSCI_VERSION_1_1 = 0x0001_0001


class VendorHyp(enum.IntEnum):
    """Vendor-specific hypervisor calls (owner 6) the models know: KVM's host hypercalls."""

    PKVM_INIT = fid(0x01, Owner.VENDOR_HYP, smc64=True)     # 0xC6000001 here
