"""TF-A lts-v2.14.6 SPMD (EL3) in front of Hafnium v2.15.0 as the S-EL2 SPMC.

The SPMD layer (what it answers itself, what it forwards, how x0-x17 are relayed) is
`spmd.Spmd` (services/std_svc/spmd/spmd_main.c); the SPMC is `hafnium.HafniumSpmc`
(src/api.c, src/ffa/spmc/*.c, src/arch/aarch64/hypervisor/handler.c); the SPs are the echo
partitions of `echo_sp`. No image of this pair exists here: behaviour is grounded in
that source only.

Version negotiation, as the two layers combine:
- bit 31 set -> NOT_SUPPORTED in w0, zero-extended, x1-x7 zero (spmd_smc_handler);
- the SPMD records the normal world's request until its first non-VERSION call
  (`nonsecure_ffa_version`) and forwards it as a framework message; Hafnium answers 1.3
  for a request compatible with 1.3 and NOT_SUPPORTED otherwise (api_ffa_version);
- that framework message is itself a direct request, so Hafnium marks the normal world
  negotiated after the first FFA_VERSION: a later FFA_VERSION with another version is
  NOT_SUPPORTED even with no other call in between (hvc_smc_handler);
- FFA_ID_GET and FFA_SPM_ID_GET are answered by the SPMD and never reach Hafnium.

`spmc=absent` (the SPMC never initialised) keeps its earlier behaviour: FFA_VERSION is
NOT_SUPPORTED and every other FF-A call FFA_ERROR(NOT_SUPPORTED), zero-extended; it is
grounded on the real `tfa-2.14.6-spmd-nospmc` image by the fw-models work.
"""
from __future__ import annotations

from ...ffa.abi import V1_3, FfaError, FfaId
from ...ffa.conv import Call, Reply
from .hafnium import HafniumSpmc
from .spmd import SVE_HINT, Spmd, is_ffa_fid


class TfaSpmd(HafniumSpmc, Spmd):
    name = "tfa-spmd"
    own_version = V1_3
    options = {"spmc": ("present", "absent")}

    def __init__(self, **kw):
        super().__init__(**kw)
        self._hafnium_init()

    @property
    def spmc_absent(self) -> bool:
        return self.opts.get("spmc") == "absent"

    def handle(self, call: Call, mem) -> Reply:
        fid = call.fid & ~SVE_HINT
        if self.spmc_absent and is_ffa_fid(fid) and fid != FfaId.FFA_VERSION:
            return self.spmd_error(FfaError.NOT_SUPPORTED)
        return super().handle(call, mem)
