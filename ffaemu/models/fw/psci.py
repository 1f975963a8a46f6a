"""A PSCI-only EL3 firmware: enough to power a guest off (DEN0022 §5.1, §5.10)."""
from __future__ import annotations

from ...arch.exceptions import EC
from ...errors import FfaemuError
from ...ffa.smccc import PSCI_VERSION_1_1, SMCCC_UNKNOWN_X0, Psci
from ...trap import Trap


class PsciFirmware:
    """PSCI_VERSION → 1.1; SYSTEM_OFF ends the run; any other SMC → -1 in x0 (as TF-A,
    sign-extended). Exceptions other than SMC fall through to the EL3 vectors."""

    name = "psci"

    def __init__(self, **options):
        if options:
            raise FfaemuError(f"firmware model 'psci' takes no options (got {', '.join(options)})")

    def __call__(self, trap: Trap):
        if trap.ec != EC.SMC64:
            return None
        fid = trap.w(0)                       # w0: only the low 32 bits name the function
        if fid == Psci.SYSTEM_OFF:
            return trap.stop("system-off", None, f"PSCI SYSTEM_OFF from EL{trap.from_el}")
        if fid == Psci.VERSION:
            return trap.ret(PSCI_VERSION_1_1)
        return trap.ret(SMCCC_UNKNOWN_X0)
