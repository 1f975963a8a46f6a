"""TF-A with the EL3 SPMC (SPMC_AT_EL3), own version 1.2 (FFA.md).

Bit 31 -> NOT_SUPPORTED. Before the lock: a compatible request is recorded and 1.2
answered; an incompatible one is not recorded and 1.2 answered. The first other FF-A
call locks negotiation and, with no recorded version, is refused with
FFA_ERROR(NOT_SUPPORTED). After the lock FFA_VERSION answers the recorded version, or
NOT_SUPPORTED if none was recorded. x0 is zero-extended; w2 of FFA_ERROR sign-extended.
"""
from __future__ import annotations

from ...ffa.abi import V1_2, VERSION_MBZ, FfaError, Func, compatible
from ...ffa.conv import Call, Ext, Reply
from .base import Firmware


class TfaEl3Spmc(Firmware):
    name = "tfa-el3-spmc"
    hypervisor_retrieve = True    # Hafnium / TF-A EL3 SPMC: see hyp_retrieve.py
    own_version = V1_2
    error_ext = Ext.SIGN

    def __init__(self, **kw):
        super().__init__(**kw)
        self.locked = False
        self.recorded: int | None = None

    def version(self, call: Call) -> Reply:
        req = call.w(1)
        if VERSION_MBZ.get(req):
            return self.version_not_supported()
        if self.locked:
            return Reply([self.recorded]) if self.recorded else self.version_not_supported()
        if compatible(req, self.own_version):
            self.recorded = req
        return Reply([self.own_version])

    def gate(self, call: Call, func: Func) -> FfaError | None:
        self.locked = True
        return FfaError.NOT_SUPPORTED if self.recorded is None else None

    def negotiated_version(self) -> int:
        return self.recorded or self.own_version
