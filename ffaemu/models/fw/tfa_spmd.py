"""TF-A SPMD (EL3) in front of a Hafnium-like S-EL2 SPMC with own version 1.3 (FFA.md).

SPMD: bit 31 of the requested version set -> NOT_SUPPORTED (zero-extended); SPMC not
initialised (`spmc=absent`) -> NOT_SUPPORTED for FFA_VERSION and FFA_ERROR(NOT_SUPPORTED)
for every other FF-A call, zero-extended; it records the normal world's version (last
writer wins until the first other call latches it) and forwards to the SPMC.
Hafnium: incompatible (other major, or minor above 1.3) -> NOT_SUPPORTED; once
negotiated, a different version -> NOT_SUPPORTED; otherwise records the request and
answers 1.3. Other calls are never refused; any call but VERSION and INTERRUPT ends
negotiation. The normal world's version starts as Hafnium's compiled version
(`other_world_vm->ffa_version = FFA_VERSION_COMPILED`), so after an early non-VERSION
call only 1.3 is accepted. Hafnium zero-extends every 32-bit result.
"""
from __future__ import annotations

from ...ffa.abi import V1_3, VERSION_MAJOR, VERSION_MBZ, VERSION_MINOR, FfaError, Func
from ...ffa.conv import Call, Reply
from .base import Firmware
from .bl31 import Bl31, Spmd


class TfaSpmd(Firmware):
    name = "tfa-spmd"
    own_version = V1_3
    options = {"spmc": ("present", "absent")}

    def __init__(self, **kw):
        super().__init__(**kw)
        self.nw_version: int | None = None      # SPMD's record of the normal world's version
        self.latched = False
        self.spmc_version = self.own_version      # Hafnium: FFA_VERSION_COMPILED until set
        self.spmc_negotiated = False

    @property
    def spmc_absent(self) -> bool:
        return self.opts.get("spmc") == "absent"

    def handle(self, call: Call, mem):
        """`spmc=absent` is TF-A lts-v2.14.6's SPMD with no SPMC image
        (tfa-2.14.6-spmd-nospmc.bios), modelled in bl31.py and held to the real image in
        all 18 registers: calls the SPMD answers itself come back, calls it would forward
        hang the real system (FirmwarePanic)."""
        if self.spmc_absent:
            return Bl31(self._absent_spmd).smc(call.xs, mem)
        return super().handle(call, mem)

    @property
    def _absent_spmd(self) -> Spmd:
        if not hasattr(self, "_spmd_no_spmc"):
            self._spmd_no_spmc = Spmd("lts-v2.14.6", spmc=None)
        return self._spmd_no_spmc

    def version(self, call: Call) -> Reply:
        req = call.w(1)                          # SMC32: only w1 is significant
        if VERSION_MBZ.get(req) or self.spmc_absent:
            return self.version_not_supported()
        if not self.latched:
            self.nw_version = req
        return self.spmc_answer(req)

    def spmc_answer(self, req: int) -> Reply:
        if VERSION_MAJOR.get(req) != 1 or VERSION_MINOR.get(req) > VERSION_MINOR.get(self.own_version):
            return self.version_not_supported()
        if self.spmc_negotiated and req != self.spmc_version:
            return self.version_not_supported()
        self.spmc_version = req
        return Reply([self.own_version])

    def gate(self, call: Call, func: Func) -> FfaError | None:
        if self.spmc_absent:
            return FfaError.NOT_SUPPORTED
        self.latched = True
        if func not in (Func.VERSION, Func.INTERRUPT):
            self.spmc_negotiated = True
        return None

    def negotiated_version(self) -> int:
        return self.spmc_version
