"""No hypervisor: EL2 only boots EL1 (HCR_EL2 = RW), so EL1's SMCs go straight to EL3."""
from __future__ import annotations

from ...errors import FfaemuError


class NoHypervisor:
    name = "none"
    traps_smc = False
    handler = None

    def __init__(self, **options: str):
        if options:
            raise FfaemuError(f"hypervisor model 'none' takes no options (got {', '.join(options)})")
