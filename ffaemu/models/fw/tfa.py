"""TF-A BL31 without an SPMD (FFA.md): PSCI only; FF-A IDs are unknown SMCs.

Reproduces: an unknown function ID answers -1 sign-extended in x0
(0xffffffffffffffff), as TF-A's SMC_UNK does, so FFA_VERSION reads as NOT_SUPPORTED.
"""
from __future__ import annotations

from ...ffa.abi import func_of
from ...ffa.conv import Call, Reply
from .base import Firmware


class Tfa(Firmware):
    name = "tfa"

    def handle(self, call: Call, mem) -> Reply:
        if func_of(call.fid) is not None:
            return self.unknown(call.conv)
        return super().handle(call, mem)
