"""TF-A lts-v2.14.6 SPMD (EL3) in front of Hafnium v2.15.0 as the S-EL2 SPMC.

BL31's dispatch and the SPMD are `bl31.Bl31`/`bl31.Spmd` (services/std_svc/spmd/
spmd_main.c, held to real images where one exists); the SPMC is `hafnium.HafniumSpmc`
(src/api.c, src/ffa/spmc/*.c, src/arch/aarch64/hypervisor/handler.c) with the echo SPs
of `echo_sp`. No image of this pair exists here: the Hafnium side is grounded in that
source only, cited next to each behaviour.

Version negotiation, as the two layers combine:
- bit 31 set -> NOT_SUPPORTED in w0, zero-extended, x1-x7 zero (spmd_smc_handler);
- the SPMD records the normal world's request until its first non-VERSION call and
  forwards it as a framework message; Hafnium answers 1.3 for a request compatible with
  1.3 and NOT_SUPPORTED otherwise (api_ffa_version);
- that framework message is itself a direct request, so Hafnium marks the normal world
  negotiated after the first FFA_VERSION: a later FFA_VERSION with another version is
  NOT_SUPPORTED even with no other call in between (hvc_smc_handler);
- FFA_ID_GET and FFA_SPM_ID_GET are answered by the SPMD and never reach Hafnium.

`spmc=absent`: the same SPMD with no SPMC (tfa-2.14.6-spmd-nospmc.bios), modelled in
bl31.py and held to that real image: calls the SPMD answers itself come back, calls it
would forward hang the system (FirmwarePanic).
"""
from __future__ import annotations

from ...ffa.abi import V1_3, version
from ...ffa.conv import Call
from .base import Answer, Firmware
from .bl31 import Bl31, Spmd, apply_spmd_variants
from .hafnium import HafniumSpmc, OtherWorldVm

TFA_RELEASE = "lts-v2.14.6"


class TfaSpmd(Firmware):
    name = "tfa-spmd"
    hypervisor_retrieve = True    # Hafnium / TF-A EL3 SPMC: see hyp_retrieve.py
    own_version = V1_3
    # The first value is the default. Bug-zoo variants (BUGZOO.md), the fixed value first:
    # result-width, version-forward, req2 (bl31.Spmd, TF-A e46b2fd21, 76d53ee1a,
    # bb9fc8c0b); version-store (Hafnium 3cc9d6f4), with spmc-version for an older
    # Hafnium's FFA_VERSION_COMPILED.
    options = {"spmc": ("present", "absent"), "result-width": ("zext", "sext"),
               "version-forward": ("clean", "leaky"), "req2": ("gated", "legacy"),
               "version-store": ("compatible", "any"), "spmc-version": ("1.3", "1.2", "1.1")}

    def __init__(self, **kw):
        super().__init__(**kw)
        self.spmc = None if self.spmc_absent else HafniumSpmc(self.ffa)
        if self.spmc is not None:
            compiled = version(1, int(self.opts.get("spmc-version", "1.3")[2:]))
            self.spmc.hf_version, self.spmc.ow = compiled, OtherWorldVm(compiled)
            self.spmc.version_store_compatible = self.opts.get("version-store") != "any"
        self.spmd = Spmd(TFA_RELEASE, self.spmc)
        apply_spmd_variants(self.spmd, self.opts)
        self.bl31 = Bl31(self.spmd)

    @property
    def spmc_absent(self) -> bool:
        return self.opts.get("spmc") == "absent"

    def handle(self, call: Call, mem) -> Answer:
        return self.bl31.smc(call.xs, mem)

    def negotiated_version(self) -> int:
        return self.spmc.negotiated_version() if self.spmc else self.own_version
