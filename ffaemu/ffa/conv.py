"""SMCCC calling conventions with explicit width (DEN0028 §2.6-§2.7, §3).

SMC32/HVC32 from AArch64: arguments and results are the W views of x1-x7; the callee
ignores bits [63:32] of the arguments, and what it leaves in bits [63:32] of the
results is not defined, so real implementations zero- or sign-extend (FFA.md). SMC64
uses the full X registers. `Call` and `Reply` make that explicit at each read and write.
"""
from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

from ..arch.bits import MASK32, MASK64, sext32, w, zext32
from .smccc import FID_SMC64

ARG_REGS = 8          # x0-x7 carry FF-A arguments and results (x8-x17 for v1.2 extended)


class Conv(enum.Enum):
    SMC32 = 32
    SMC64 = 64

    @staticmethod
    def of(fid: int) -> "Conv":
        return Conv.SMC64 if FID_SMC64.get(fid & MASK32) else Conv.SMC32


@dataclass
class Call:
    """An SMC as the callee sees it: the 64-bit registers and the convention from w0."""

    xs: list[int]
    caller: int = 0        # the FF-A endpoint ID of the caller, as the callee knows it
    via_hypervisor: bool = False   # from EL2: the hypervisor may speak for its VMs

    @property
    def fid(self) -> int:
        return w(self.xs[0])            # only the low 32 bits of x0 name the function

    @property
    def conv(self) -> Conv:
        return Conv.of(self.fid)

    def arg(self, n: int) -> int:
        """Argument n as significant under the call's convention (W for SMC32)."""
        return self.xs[n] if self.conv is Conv.SMC64 else w(self.xs[n])

    def w(self, n: int) -> int:
        return w(self.xs[n])

    def x(self, n: int) -> int:
        return self.xs[n]


class Ext(enum.Enum):
    """How an implementation fills bits [63:32] of a 32-bit result."""

    ZERO = "zero"
    SIGN = "sign"


class UpperPolicy(enum.Enum):
    """`--fw-upper`: how SMC32 results fill bits [63:32]. All are legal for SMC32."""

    REAL = "real"          # as the modelled implementation does
    ZERO = "zero"
    SIGN = "sign"
    GARBAGE = "garbage"    # seeded random bits


@dataclass
class Reply:
    """Results x0..x(count-1). For an SMC32 reply, values are 32-bit and `ext` says how
    the implementation extends each (default ZERO); an SMC64 reply holds X values as is.
    FF-A results fill x0-x7 (unused ones MBZ); an SMCCC value such as "unknown function"
    writes x0 only (`count=1`) and the caller's other registers are preserved."""

    values: list[int]
    conv: Conv = Conv.SMC32
    ext: dict[int, Ext] = field(default_factory=dict)
    count: int = ARG_REGS

    def registers(self, policy: UpperPolicy = UpperPolicy.REAL, rng: random.Random | None = None) -> list[int]:
        """The 64-bit values of the `count` result registers under a `--fw-upper` policy."""
        vals = (list(self.values) + [0] * ARG_REGS)[:self.count]
        if self.conv is Conv.SMC64:
            return [v & MASK64 for v in vals]
        out = []
        for n, v in enumerate(vals):
            low = v & MASK32
            if policy is UpperPolicy.REAL:
                out.append(sext32(low) if self.ext.get(n, Ext.ZERO) is Ext.SIGN else zext32(low))
            elif policy is UpperPolicy.ZERO:
                out.append(zext32(low))
            elif policy is UpperPolicy.SIGN:
                out.append(sext32(low))
            else:
                out.append(((rng or random.Random(0)).getrandbits(32) << 32) | low)
        return out
