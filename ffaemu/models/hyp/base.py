"""What every EL2 model shares: a name, options (`NAME:key=value`, each key's first value
the default), whether it traps the guest's SMCs at boot (HCR_EL2.TSC), the register rules
it knowingly breaks, and the machine it is attached to (`bind`)."""
from __future__ import annotations

from .. import check_options


class HypervisorModel:
    name = "hypervisor"
    traps_smc = True                      # set HCR_EL2.TSC at boot
    options: dict[str, tuple[str, ...]] = {}
    smccc_deviations: dict[str, str] = {}

    def __init__(self, **options: str):
        self.opts = check_options("hypervisor", self.name, options, self.options)
        self.machine = None

    @property
    def handler(self):
        return self

    def bind(self, machine) -> None:
        """Called once when attached: `machine.cpu` gives system registers (e.g. HCR_EL2)."""
        self.machine = machine
