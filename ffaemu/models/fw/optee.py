"""TF-A SPMD in front of the OP-TEE S-EL1 SPMC, own version 1.2 (FFA.md).

The SPMD refuses bit 31 (NOT_SUPPORTED, zero-extended). OP-TEE always answers 1.2,
records min(request, 1.2) for major 1, allows renegotiation and has no bit-31 check of
its own. FFA.md is silent on OP-TEE's error width: its spmc_set_args() takes unsigned
long arguments and FFA_NOT_SUPPORTED is (-1), so w2 of FFA_ERROR is sign-extended here.
"""
from __future__ import annotations

from ...ffa.abi import V1_2, VERSION_MAJOR, FfaError, Func
from ...ffa.conv import Call, Ext, Reply
from .spmd import Spmd


class Optee(Spmd):
    name = "optee"
    own_version = V1_2
    error_ext = Ext.SIGN
    options = {}

    def spmc_answer(self, req: int) -> Reply:
        if VERSION_MAJOR.get(req) == 1:
            self.spmc_version = min(req, self.own_version)
        return Reply([self.own_version])

    def gate(self, call: Call, func: Func) -> FfaError | None:
        self.latched = True
        return None
