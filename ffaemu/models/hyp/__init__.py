"""EL2 hypervisor models. `none`: EL2 only boots EL1 and traps nothing."""
from .. import ModelRegistry


class NoHypervisor:
    """No hypervisor: HCR_EL2 = RW only, so EL1's SMCs go straight to EL3."""

    name = "none"
    traps_smc = False
    handler = None

    def __init__(self, **options):
        from ...errors import FfaemuError
        if options:
            raise FfaemuError(f"hypervisor model 'none' takes no options (got {', '.join(options)})")


HYPERVISORS = ModelRegistry("hypervisor")
HYPERVISORS.register("none", NoHypervisor, "no hypervisor: EL2 boots EL1, EL1 SMCs go to EL3")
