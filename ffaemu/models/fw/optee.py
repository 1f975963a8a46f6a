"""TF-A SPMD in front of the OP-TEE S-EL1 SPMC, held to the real images in all 18 registers.

Default: OP-TEE 4.10.0 behind TF-A lts-v2.14.6 (tfa-2.14.6-optee-4.10.0.bios);
`release=4.4`: OP-TEE 4.4.0 behind TF-A v2.12.0 (tfa-2.12.0-optee-4.4.0.bios), which
answers FF-A 1.1. The layers are bl31.py (BL31 dispatch and the SPMD, with the SPMD
release table) and optee_spmc.py (OP-TEE's thread_spmc.c, with the OP-TEE release table);
this file only pairs them. The differential suite (tests/test_fwdiff.py) compares every
register of every call with the real images.
"""
from __future__ import annotations

from ...ffa.conv import Call
from .base import Answer, Firmware
from .bl31 import Bl31, Spmd
from .optee_spmc import OPTEE_RELEASES, OpteeSpmc


class Optee(Firmware):
    name = "optee"
    options = {"release": tuple(OPTEE_RELEASES)}

    def __init__(self, **kw):
        super().__init__(**kw)
        self.release = OPTEE_RELEASES[self.opts.get("release", "4.10")]
        self.own_version = self.release.own_version
        self.spmc = OpteeSpmc(self.release)
        self.spmd = Spmd(self.release.tfa, self.spmc)
        self.bl31 = Bl31(self.spmd)

    def handle(self, call: Call, mem) -> Answer:
        return self.bl31.smc(call.xs, mem)

    def negotiated_version(self) -> int:
        return self.spmc.rxtx.ffa_vers
