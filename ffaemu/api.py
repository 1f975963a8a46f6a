"""The stable public API for writing your own models: `--el3 FILE.py:CLASS`, `--el2 FILE.py:CLASS`.

What is here stays importable under these names across releases; everything else in
ffaemu is internal. A model file is plain Python that imports from `ffaemu.api`:

    from ffaemu.api import Pkvm, FfaId, FfaError

    class PkvmLocal(Pkvm):                    # --el2 my_pkvm.py:PkvmLocal
        name = "pkvm-local"
        def __call__(self, trap):
            if trap.w(0) == FfaId.FFA_MSG_SEND_DIRECT_REQ:
                return trap.ret(FfaId.FFA_ERROR, 0, FfaError.NOT_SUPPORTED & 0xFFFF_FFFF)
            return (yield from super().__call__(trap))

Roles and base classes:
- EL3 (`--el3`): a subclass of `Firmware` (PSCI, FF-A dispatch, `--fw-upper`, the
  partitions and memory sharing), usually of a built-in one (`Tfa`, `TfaSpmd`,
  `TfaEl3Spmc`, `Optee`). It is built as `Class(upper=..., seed=..., **options)`; its
  `handle(call, mem)` answers a `Call` (x0-x17, `call.fid`, `call.w(n)`) with a `Reply`
  (x0-x7, SMC32 widths filled by `--fw-upper`) or an `Answer` ({register: value}, the
  registers it writes; the rest keep the caller's values).
- EL2 (`--el2`): a subclass of `Hypervisor` (a pass-through proxy to start from) or of a
  built-in one (`Pkvm`, `Xen`, `NoHypervisor`). It is built as `Class(**options)`.
- Options: `FILE.py:CLASS:key=value,...`; a class lists what it accepts in `options`
  ({key: (valid values...)}), like the built-ins.

The handler protocol (`Trap`, see ffaemu/trap.py): the model is called with a `Trap` for
each SMC/HVC taken to its EL; `trap.x(n)`/`trap.w(n)` read the caller's x0-x17 (64- or
32-bit view); it answers `trap.ret(x0, ..., x17)` (unnamed registers keep the caller's
values), `trap.stop(reason)`, `None` (take the exception into assembly), or, from an EL2
generator handler, `res = yield trap.forward(...)` (SMC #0 to EL3; `res.x(n)`/`res.w(n)`).

Call-recording rules (what `--trace`, `run --json` "calls" and the width fuzzer see):
1. Every SMC/HVC a Python model answers is one record: from_el, to_el, handler (the
   model's `name` attribute, else its class name), x0-x17 in and out (traces and JSON
   show x0-x7). A call the model declines (`None`/`trap.vector()`) is not recorded.
2. A `trap.forward()` is recorded as a nested call (depth + 1) inside the call that made
   it, in order; a call that never returns (PSCI SYSTEM_OFF) has no result.
3. Every answer goes through the SMCCC v1.2 / FF-A register checker
   (`ffaemu.ffa.smccc_rules`) in the width fuzzer. A model that knowingly breaks a rule
   declares it: `smccc_deviations = {"smc32-preserves-x8-x17": "why"}`.
"""
from __future__ import annotations

from .errors import FfaemuError
from .ffa.abi import (V1_0, V1_1, V1_2, V1_3, FfaError, FfaId, Func, func_of, version,
                      version_str)
from .ffa.conv import Call, Conv, Ext, Reply
from .ffa.smccc_rules import Rule
from .models.fw.base import Answer, Firmware, Partition, RefusedCall
from .models.fw.optee import Optee
from .models.fw.tfa import Tfa
from .models.fw.tfa_el3_spmc import TfaEl3Spmc
from .models.fw.tfa_spmd import TfaSpmd
from .models.hyp.base import HypervisorModel
from .models.hyp.none import NoHypervisor
from .models.hyp.pkvm import Pkvm
from .models.hyp.xen import Xen
from .trap import Regs, Result, Trap


class Hypervisor(HypervisorModel):
    """An EL2 model from scratch: traps the guest's SMCs (HCR_EL2.TSC) and, unless a
    subclass answers, forwards each call to EL3 unchanged and hands back x0-x17. `options`,
    `opts`, `smccc_deviations`, `bind(machine)` and `machine` come from HypervisorModel
    (models/hyp/base.py), the base of pKVM and Xen too."""

    name = "hypervisor"

    def __call__(self, trap: Trap):
        res = yield trap.forward()
        return trap.ret(*res.xs)


EL3_BASES = (Firmware,)
EL2_BASES = (Hypervisor, Pkvm, Xen, NoHypervisor)

__all__ = ["Trap", "Regs", "Result", "Firmware", "Hypervisor", "Tfa", "TfaSpmd", "TfaEl3Spmc",
           "Optee", "Pkvm", "Xen", "NoHypervisor", "Call", "Conv", "Ext", "Reply", "Answer", "Partition",
           "RefusedCall", "FfaError", "FfaId", "Func", "func_of", "version", "version_str", "V1_0",
           "V1_1", "V1_2", "V1_3", "Rule", "FfaemuError", "EL3_BASES", "EL2_BASES"]
