"""Bug 2: a built-in FF-A driver probes before KVM sets HCR_EL2.TSC.

buggy: builtin order - the driver's FFA_VERSION goes straight to EL3, pKVM never
negotiates and refuses every later FF-A call with INVALID_PARAMETERS.
rejected-fix: builtin order with `negotiate-at-init=on` - later calls pass, but the
early FFA_RXTX_MAP reached EL3 without the proxy knowing the host's buffers.
fixed: the probe is deferred until pKVM is up (upstream's fix).
"""
from __future__ import annotations

import re

from ..ffa.abi import FfaError, FfaId
from ..models.hyp.pkvm import HYP_RX, HYP_TX
from ..runner import run_guest
from . import Out, Scenario, VariantResult, guest
from .pkvm_version_sext import _console

STEP = re.compile(r"^\| (FFA_\w+) w0=([0-9a-f]{8}) w2=([0-9a-f]{8})$")
CONFIGS = {"buggy": ("ffa_builtin.S", "pkvm"),
           "rejected-fix": ("ffa_builtin.S", "pkvm:negotiate-at-init=on"),
           "fixed": ("ffa_deferred.S", "pkvm")}
FIRMWARE = "tfa-spmd"


class PkvmBuiltinDriver(Scenario):
    name = "pkvm-builtin-driver"
    summary = "bug 2: FF-A probed before pKVM traps SMCs (HCR_EL2.TSC)"
    project, fix, title = "pKVM", "", "upstream defers the FF-A driver probe until pKVM is up"
    variant_options = {"buggy": "pkvm (guest asm/el1/ffa_builtin.S)", "rejected-fix": "pkvm:negotiate-at-init=on (guest asm/el1/ffa_builtin.S)", "fixed": "pkvm (guest asm/el1/ffa_deferred.S)"}
    variants = {"buggy": (True, "driver built in: probes before the pKVM init hypercall"),
                "rejected-fix": (True, "built in, and pKVM marks negotiation done at init"),
                "fixed": (False, "probe deferred until pKVM is initialised")}

    def run(self, variant: str, out: Out) -> VariantResult:
        image, el2 = CONFIGS[variant]
        lines: list[str] = []
        run = run_guest(guest(image), FIRMWARE, el2, trace=lines.append, console=_console(lines))
        for line in lines:
            out("   " + line)
        steps, later, seen_init = [], [], False
        for line in lines:
            if line.startswith("| PKVM_INIT"):
                seen_init = True
            m = STEP.match(line)
            if m:
                step = (m[1], int(m[2], 16), int(m[3], 16))
                steps.append(step)
                if seen_init:
                    later.append(step)
        refused = [s for s in later if s[1] == FfaId.FFA_ERROR and s[2] == FfaError.INVALID_PARAMETERS & 0xFFFFFFFF]
        failed = [s for s in steps if s[1] == FfaId.FFA_ERROR]
        el3_buffers = run.firmware.ffa.buffers.get(0)
        bypass = (el3_buffers is not None and (el3_buffers.tx, el3_buffers.rx) != (HYP_TX, HYP_RX)
                  and run.hypervisor.host_buffers is None)
        if later and len(refused) == len(later):
            verdict = (f"every one of the {len(later)} FF-A calls after pKVM's init was refused with "
                       "INVALID_PARAMETERS: the driver's FFA_VERSION went straight to EL3 before "
                       "HCR_EL2.TSC was set, so pKVM never saw it and never negotiated")
        elif bypass:
            ok = [s[0] for s in later if s[1] != FfaId.FFA_ERROR]
            verdict = (f"later calls pass ({', '.join(ok) or 'none'}), but the early FFA_RXTX_MAP reached "
                       f"EL3 without the proxy: EL3 maps the host's buffers directly (tx={el3_buffers.tx:#x}, "
                       f"rx={el3_buffers.rx:#x}) while pKVM tracks none, so its buffer isolation is "
                       f"bypassed{' and ' + ', '.join(s[0] for s in failed) + ' failed' if failed else ''}")
        elif not failed:
            verdict = (f"all {len(steps)} FF-A calls succeeded through pKVM's proxy; EL3 sees only "
                       "pKVM's own RX/TX buffers")
        else:
            verdict = f"unexpected: {', '.join(s[0] for s in failed)} failed"
        bug = bool(later and len(refused) == len(later)) or bypass or bool(failed)
        return self.result(variant, verdict, bug, steps=steps, later=later, bypass=bypass)
