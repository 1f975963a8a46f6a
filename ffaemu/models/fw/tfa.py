"""TF-A BL31 lts-v2.14.6 without an SPD (tfa-2.14.6.bios): SMCCC_VERSION 1.5, PSCI 1.1, and
every FF-A ID an unknown SMC: x0 = SMC_UNK (-1 sign-extended), x1-x17 untouched (SMC_RET1).
The dispatch is bl31.Bl31 with no SPMD; held to the real image by tests/test_fwdiff.py.
"""
from __future__ import annotations

from ...ffa.conv import Call
from .base import Answer, Firmware
from .bl31 import SMC_UNK, SMC_UNK_ZEXT, Bl31


class Tfa(Firmware):
    name = "tfa"
    # Bug-zoo variant (BUGZOO.md, the fixed value first): smc-unk=zext is BL31 before
    # 4abd7fa71 (SMC_UNK = U(0xffffffff), `mov w0, #0xffffffff`: x0 zero-extended).
    options = {"smc-unk": ("sext", "zext")}

    def __init__(self, **kw):
        super().__init__(**kw)
        zext = self.opts.get("smc-unk") == "zext"
        self.bl31 = Bl31(spmd=None, smc_unk=SMC_UNK_ZEXT if zext else SMC_UNK)

    def handle(self, call: Call, mem) -> Answer:
        return self.bl31.smc(call.xs, mem)
