"""EL2 hypervisor models, by CLI name (`--el2 NAME[:key=value,...]`)."""
from .. import ModelRegistry

# Classes by "module:name": imported when a model is created (ModelRegistry.factory).
NoHypervisor, Pkvm, Xen = (f"{__name__}.none:NoHypervisor", f"{__name__}.pkvm:Pkvm",
                           f"{__name__}.xen:Xen")

HYPERVISORS = ModelRegistry("hypervisor")
HYPERVISORS.register("none", NoHypervisor, "no hypervisor: EL2 boots EL1, EL1 SMCs go to EL3")
HYPERVISORS.register("pkvm", Pkvm, "pKVM FF-A proxy, Linux v6.18 (options version-check=s32|u64, "
                     "negotiate-at-init=off|on, features-mask=on|off, downgrade=refuse|answer, "
                     "ffa-max-func=0xff|0x7f, retval-regs=18|4)")
HYPERVISORS.register("xen", Xen, "Xen FF-A mediator, per domain, Xen 4.22.0 (options "
                     "negotiation=per-vm|legacy, vm-to-vm=on|off, features-args=ignore|check, "
                     "fw-version-check=compatible|exact)")
