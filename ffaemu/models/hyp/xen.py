"""Xen's FF-A mediator at EL2 (xen/arch/arm/tee/ffa*.c), per domain, as FFA.md describes.

`negotiation=per-vm` (Dec 2025, default), per domain: `guest_vers` (published,
write-once) and `guest_vers_tmp` (under the domain's lock).
- Before publication, FFA_VERSION(v): major != 1 or minor > 2 -> tmp := 1.2, else
  tmp := v verbatim (bit 31 is not checked: a known weakness); the answer is 1.2.
- A non-VERSION call with tmp == 0 -> FFA_ERROR(NOT_SUPPORTED), nothing published.
- A non-VERSION call with tmp != 0 -> under the lock, publish guest_vers := tmp once
  and add the VM to the VM list (visible to other VMs' partition queries), then serve it.
- After publication FFA_VERSION(anything) -> 1.2.
`negotiation=legacy` (2024-2025): every FFA_VERSION with major 1 sets
guest_vers := min(v, 1.2) at any time, other ABIs are never gated, every VM is listed.

Results are masked to 32 bits (zero-extended). Guests use HVC for PSCI (VERSION,
CPU_OFF, SYSTEM_OFF) and SMC for FF-A (trapped with HCR_EL2.TSC). vCPUs share the one
CPU: after every trap the next runnable vCPU runs (round robin over all VMs), so a run
is deterministic. The run ends when every vCPU is off or one calls SYSTEM_OFF.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...arch.bits import w
from ...arch.context import El1Context
from ...arch.exceptions import EC
from ...arch.sysregs import DAIF_ALL, mode_bits
from ...errors import FfaemuError
from ...ffa.abi import V1_2, VERSION_MAJOR, VERSION_MINOR, FfaError, FfaId, Func, func_of
from ...ffa.smccc import PSCI_VERSION_1_1, SMCCC_UNKNOWN_X0, Psci
from ...trap import Resume, Trap

EL1H_MASKED = mode_bits(1, spx=True) | DAIF_ALL
MAX_VMS = 8
MAX_VCPUS = 8
OWN_VERSION = V1_2


@dataclass
class Vcpu:
    vm: int
    index: int
    ctx: El1Context | None = None       # saved while another vCPU runs
    off: bool = False

    @property
    def name(self) -> str:
        return f"vm{self.vm}.{self.index}"


@dataclass
class Domain:
    vm: int
    entry: int
    guest_vers: int = 0                 # published version (0: not yet)
    guest_vers_tmp: int = 0
    listed: bool = False                # in the VM list other VMs' queries see

    @property
    def ffa_id(self) -> int:
        return self.vm + 1              # ffa_get_vm_id(): domain_id + 1


@dataclass
class Event:
    """One FF-A call as the mediator saw and answered it (for scenario checks)."""

    seq: int
    vcpu: str
    vm: int
    call: str
    arg: int
    w0: int
    w2: int
    guest_vers: int
    guest_vers_tmp: int
    listed: tuple[int, ...]


class Xen:
    name = "xen"
    traps_smc = True
    options = {"negotiation": ("per-vm", "legacy")}

    def __init__(self, **options: str):
        for key, value in options.items():
            if key not in self.options:
                raise FfaemuError(f"hypervisor model 'xen' has no option '{key}' (valid: negotiation)")
            if value not in self.options[key]:
                raise FfaemuError(f"invalid value '{value}' for xen:{key} (valid: per-vm, legacy)")
        self.negotiation = options.get("negotiation", "per-vm")
        self.domains: list[Domain] = []
        self.vcpus: list[Vcpu] = []
        self.events: list[Event] = []
        self.current = 0
        self.fw_ffa: bool | None = None         # learnt from firmware at the first trap
        self.machine = None

    @property
    def handler(self):
        return self

    def caller(self) -> str | None:
        """The running vCPU ('vm1.0'), for call traces; None with a single vCPU."""
        return self.vcpus[self.current].name if len(self.vcpus) > 1 else None

    def bind(self, machine) -> None:
        self.machine = machine

    def setup(self, entries: list[int], vcpus: int) -> None:
        """One domain per entry (each a copy of the guest), `vcpus` vCPUs each."""
        if not 1 <= len(entries) <= MAX_VMS or not 1 <= vcpus <= MAX_VCPUS:
            raise FfaemuError(f"xen runs 1..{MAX_VMS} VMs with 1..{MAX_VCPUS} vCPUs each")
        self.domains = [Domain(vm, entry, listed=self.negotiation == "legacy")
                        for vm, entry in enumerate(entries)]
        self.vcpus = [Vcpu(d.vm, i) for d in self.domains for i in range(vcpus)]
        for v in self.vcpus[1:]:                # vm0.0 is booted by the EL2 stub
            dom = self.domains[v.vm]
            v.ctx = El1Context(dom.entry, EL1H_MASKED, [v.index, v.vm] + [0] * 29)

    # Entry ----------------------------------------------------------------------------
    def __call__(self, trap: Trap):
        vcpu = self.vcpus[self.current]
        dom = self.domains[vcpu.vm]
        if self.fw_ffa is None:
            res = yield trap.forward(FfaId.FFA_VERSION, OWN_VERSION, *([0] * 6))
            self.fw_ffa = w(res.x(0)) != FfaError.NOT_SUPPORTED & 0xFFFF_FFFF   # masked: the fix
        if trap.ec == EC.HVC64:
            regs = self._psci(trap, vcpu)
            if regs is None and all(v.off for v in self.vcpus):
                return trap.stop("system-off", None, "every vCPU of every VM is off")
            if regs == "system-off":
                return trap.stop("system-off", None, f"PSCI SYSTEM_OFF from {vcpu.name}")
        elif trap.ec == EC.SMC64:
            regs = yield from self._ffa(trap, dom, vcpu)
        else:
            return None
        return self._schedule(trap, vcpu, regs)

    def _psci(self, trap: Trap, vcpu: Vcpu):
        fid = trap.w(0)
        if fid == Psci.VERSION:
            return [PSCI_VERSION_1_1]
        if fid == Psci.CPU_OFF:
            vcpu.off = True
            return None
        if fid == Psci.SYSTEM_OFF:
            return "system-off"
        return [SMCCC_UNKNOWN_X0]

    def _schedule(self, trap: Trap, vcpu: Vcpu, regs: list[int] | None):
        """Answer the caller, then run the next runnable vCPU (round robin)."""
        answer = trap.ret(*(regs or []))
        n = len(self.vcpus)
        nxt = next(((self.current + k) % n for k in range(1, n + 1)
                    if not self.vcpus[(self.current + k) % n].off), None)
        if nxt == self.current:
            return answer
        cpu = self.machine.cpu
        if not vcpu.off:
            xs = cpu.xs()
            for r, v in answer.values.items():
                xs[r] = v
            vcpu.ctx = El1Context.save(cpu, answer.pc, xs)
        self.current = nxt
        target = self.vcpus[nxt]
        target.ctx.load(cpu)
        return Resume(target.ctx.pc, answer.values)

    # FF-A -----------------------------------------------------------------------------
    def _ffa(self, trap: Trap, dom: Domain, vcpu: Vcpu):
        fid = trap.w(0)
        func = func_of(fid)
        if func is None:                          # not FF-A: forward (PSCI via SMC, SiP calls)
            res = yield trap.forward()
            return res.xs[:8]
        if not self.fw_ffa:
            return self._log(vcpu, dom, func, trap, [FfaError.NOT_SUPPORTED & 0xFFFF_FFFF])
        if func is Func.VERSION:
            return self._log(vcpu, dom, func, trap, [self._version(dom, trap.w(1))])
        if self.negotiation == "per-vm" and not dom.guest_vers:
            if not dom.guest_vers_tmp:
                return self._log(vcpu, dom, func, trap, _error(FfaError.NOT_SUPPORTED))
            dom.guest_vers = dom.guest_vers_tmp   # under the domain lock: publish once
            dom.listed = True
        regs = yield from self._serve(trap, dom, func)
        return self._log(vcpu, dom, func, trap, regs)

    def _version(self, dom: Domain, req: int) -> int:
        major, minor = VERSION_MAJOR.get(req), VERSION_MINOR.get(req)
        if self.negotiation == "legacy":
            if major != 1:
                return FfaError.NOT_SUPPORTED & 0xFFFF_FFFF
            dom.guest_vers = min(req, OWN_VERSION)
            return OWN_VERSION
        if not dom.guest_vers:
            dom.guest_vers_tmp = OWN_VERSION if major != 1 or minor > 2 else req
        return OWN_VERSION

    def _serve(self, trap: Trap, dom: Domain, func: Func):
        if func is Func.ID_GET:
            return _success(dom.ffa_id)
        if func is Func.PARTITION_INFO_GET:
            if not trap.w(5) & 1:                 # only count queries are modelled for Xen
                return _error(FfaError.NOT_SUPPORTED)
            res = yield trap.forward(*trap.xs[:6], 0, 0)
            if w(res.x(0)) != FfaId.FFA_SUCCESS:
                return [w(v) for v in res.xs[:8]]
            others = sum(1 for d in self.domains if d.listed and d is not dom)
            return _success(w(res.x(2)) + others, w(res.x(3)))
        if func is Func.MSG_SEND_DIRECT_REQ:
            dst = trap.w(1) & 0xFFFF
            res = yield trap.forward(trap.x(0), (dom.ffa_id << 16) | dst, *trap.xs[2:8])
            return [w(v) for v in res.xs[:8]]
        if func is Func.FEATURES:
            res = yield trap.forward(*trap.xs[:8])
            return [w(v) for v in res.xs[:8]]
        return _error(FfaError.NOT_SUPPORTED)

    def _log(self, vcpu: Vcpu, dom: Domain, func: Func, trap: Trap, regs: list[int]) -> list[int]:
        regs = [w(v) for v in regs] + [0] * (8 - len(regs))
        self.events.append(Event(len(self.events), vcpu.name, vcpu.vm, func.name, trap.w(1),
                                 regs[0], regs[2], dom.guest_vers, dom.guest_vers_tmp,
                                 tuple(d.vm for d in self.domains if d.listed)))
        return regs


def _success(*values: int) -> list[int]:
    return [FfaId.FFA_SUCCESS, 0, *values]


def _error(code: FfaError) -> list[int]:
    return [FfaId.FFA_ERROR, 0, code & 0xFFFF_FFFF]

