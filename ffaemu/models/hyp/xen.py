"""Xen's FF-A mediator at EL2, per domain: Xen RELEASE-4.22.0 (2026-07-29), which equals
master c447b7308b (2026-08-20) in xen/arch/arm/tee/ except ffa_msg.c's SEND2 hardening
(one snapshot of the SEND2 header: the same here, where nothing races). Sources: ffa.c
(negotiation, dispatch, FEATURES), ffa_private.h (`ffa_set_regs`, `ffa_get_vm_id`),
ffa_partinfo.c, ffa_rxtx.c, ffa_msg.c, ffa_shm.c, ffa_notif.c, and arch/arm/vsmc.c
(routing). Handlers are in xen_abis.py.

Routing (vsmc.c vsmccc_handle_call, both conduits): w0 owned by the standard service with
a number in 0x60..0x8E goes to the mediator; PSCI to the virtual PSCI; SMCCC_VERSION is
answered 1.2; anything else gets x0 = -1 (64-bit), other registers untouched. Guest SMCs
are never passed to the firmware. Without a mediator (no usable firmware and no
FFA_VM_TO_VM) FF-A calls are "unknown" too.

Firmware probe (ffa_probe_fw, modelled at the first trap, before the guest's call):
FFA_VERSION(1.2) with the answer masked to 32 bits, major 1 and minor >= 1 required; then
FFA_FEATURES for each ABI Xen uses; Xen maps its own RX/TX at the SPMC (RXTX_MAP_64) and
caches the SP list (PARTITION_INFO_GET, needs DIRECT_REQ too), then FFA_RX_RELEASE.

`negotiation=per-vm` (default; ffa.c ffa_negotiate_version, introduced by ad2d3a7daf
"per-VM FFA_VERSION negotiation state", authored 2025-12-15, as in 4.22.0), per domain:
`guest_vers` (published, write-once) and `guest_vers_tmp` (under the domain's lock).
- Before publication, FFA_VERSION(v): major != 1 or minor > 2 -> tmp := 1.2, else
  tmp := v verbatim (bit 31 is not checked); the answer is 1.2.
- A non-VERSION call (exact u32 compare with 0x84000063: FFA_VERSION's SMC64 form is
  "non-VERSION") with tmp == 0 -> FFA_ERROR(NOT_SUPPORTED), nothing published.
- With tmp != 0: publish guest_vers := tmp once, add the VM to the VM list (with
  FFA_VM_TO_VM), bump the partition-info tag, then serve the call.
- After publication FFA_VERSION(anything) -> 1.2.
`negotiation=legacy` (2024-2025): every FFA_VERSION with major 1 sets
guest_vers := min(v, 1.2) at any time, other ABIs are never gated, every VM is listed.
`vm-to-vm=on` (default here; Kconfig FFA_VM_TO_VM defaults to n, UNSUPPORTED): VMs see
each other in partition queries; `off` lists only the caller.
Bug zoo (BUGZOO.md): `features-args=check` is handle_features() before 4992308e97;
`fw-version-check=exact` is the version handling of Xen 4.18-4.19 (RELEASE-4.19.0 ffa.c,
before da07df5558): own version 1.1, firmware accepted only if its whole version word is
1.1 (`vers < FFA_MIN_SPMC_VERSION || vers > FFA_MY_VERSION` rejects), and each guest
FFA_VERSION records and answers 1.0 (request < 1.1) or 1.1 (handle_version); that Xen had
no per-VM gate and no FFA_VM_TO_VM, so `exact` implies `negotiation=legacy, vm-to-vm=off`.
The rest of the mediator stays 4.22's.

Registers (ffa_private.h ffa_set_regs): x0-x7 written, x8-x17 zeroed only once the VM
published a version >= 1.2; values Xen makes are 32-bit (FFA_ERROR's w2 masked).
Not modelled: AArch32 guests, SMC immediates != 0, the RX-buffer-full notification after
a VM-to-VM SEND2, the VM_CREATED/DESTROYED framework messages (no SP here subscribes to
them), the firmware's notifications (fw_notif_enabled false: needs the SPMC's SRI).

vCPUs share the one CPU: after every trap the next runnable vCPU runs (round robin over
all VMs), so a run is deterministic. The run ends when every vCPU is off or one calls
PSCI SYSTEM_OFF.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ... import memmap
from ...arch.bits import MASK64, w
from ...arch.context import El1Context
from ...arch.exceptions import EC
from ...arch.sysregs import DAIF_ALL, mode_bits
from ...errors import FfaemuError
from ...ffa.abi import V1_0, V1_1, V1_2, VERSION_MAJOR, VERSION_MINOR, FfaError, FfaId, id_name
from ...ffa.smccc import FID_NUMBER, FID_OWNER, PSCI_VERSION_1_1, SMCCC_UNKNOWN_X0, Owner, Psci, fid
from ...trap import SMCCC_ARG_REGS, Resume, Trap
from .base import HypervisorModel
from .xen_abis import XenAbis
from .xen_ffa import FW_ABI_NEEDED, MAX_NUM_SP, PAGE, PARTINFO_1_1_SIZE, SECURE_ID, Firmware, Mailbox, ret_code

EL1H_MASKED = mode_bits(1, spx=True) | DAIF_ALL
MAX_VMS = 8
MAX_VCPUS = 8
OWN_VERSION = V1_2                 # FFA_MY_VERSION
MIN_SPMC_VERSION = V1_1            # FFA_MIN_SPMC_VERSION
FFA_FNUM_MIN, FFA_FNUM_MAX = 0x60, 0x8E      # asm/tee/ffa.h is_ffa_fid()
PSCI_FNUM_MAX = 0x1F               # vpsci: function numbers 0x00..0x1F
SMCCC_VERSION_FID = fid(0x0000, Owner.ARM_ARCH)
SMCCC_VERSION_1_2 = 0x1_0002
SPMC_TX = memmap.HARNESS_BASE + 0x8_0000     # Xen's own RX/TX pair (ffa_rxtx_spmc_init)
SPMC_RX = SPMC_TX + PAGE


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
    vcpus: int = 1
    guest_vers: int = 0                 # published version (0: not yet)
    guest_vers_tmp: int = 0
    listed: bool = False                # in the VM list other VMs' queries see
    mailbox: Mailbox | None = None
    shm: dict[int, list[int]] = field(default_factory=dict)    # handle -> pages

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


class Xen(XenAbis, HypervisorModel):
    name = "xen"
    traps_smc = True
    # The first value is the default; bug-zoo variants (BUGZOO.md) list the fixed value first.
    # DEN0028C §2.6 has an SMC32/HVC32 call preserve x8-x30, but ffa_set_regs() zeroes
    # x8-x17 of every answer to a 64-bit guest at >= 1.2, SMC32 ones too: a declared
    # deviation for the register checker (ffa/smccc_rules.py).
    smccc_deviations = {"smc32-preserves-x8-x17": "ffa_private.h ffa_set_regs zeroes x8-x17 "
                        "for a guest at >= 1.2, SMC32 answers too"}
    options = {"negotiation": ("per-vm", "legacy"), "vm-to-vm": ("on", "off"),
               "features-args": ("ignore", "check"), "fw-version-check": ("compatible", "exact")}

    def __init__(self, **options: str):
        super().__init__(**options)
        self.negotiation = options.get("negotiation", "per-vm")
        self.vm_to_vm = options.get("vm-to-vm", "on") == "on"
        # features-args=check: FFA_FEATURES refused when any of x2-x7 (64-bit) is non-zero,
        # as from 538ab07bad (2024-03) until 4992308e97 (2026-02).
        self.features_args = options.get("features-args", "ignore")
        # fw-version-check=exact: Xen 4.18-4.19 before da07df5558 (see the module docstring).
        self.per_call_version = options.get("fw-version-check") == "exact"
        self.own_version = V1_1 if self.per_call_version else OWN_VERSION
        if self.per_call_version:
            clash = [f"{k}={v}" for k, v in (("negotiation", "per-vm"), ("vm-to-vm", "on"))
                     if options.get(k) == v]
            if clash:
                raise FfaemuError(f"xen:fw-version-check=exact is Xen 4.18-4.19, which has no "
                                  f"{clash[0]} (it negotiates on every FFA_VERSION, VMs unlisted)")
            self.negotiation, self.vm_to_vm = "legacy", False
        self.domains: list[Domain] = []
        self.vm_list: list[Domain] = []         # ffa_ctx_head, in publication order
        self.vcpus: list[Vcpu] = []
        self.events: list[Event] = []
        self.current = 0
        self.fw = Firmware()
        self.mediator: bool | None = None       # ffa_probe() result, at the first trap
        self.tag = 1                            # ffa_partinfo_tag
        self.spmc_tx = SPMC_TX

    @property
    def fw_ffa(self) -> bool:
        return bool(self.fw.version)

    def caller(self) -> str | None:
        """The running vCPU ('vm1.0'), for call traces; None with a single vCPU."""
        return self.vcpus[self.current].name if len(self.vcpus) > 1 else None

    def setup(self, entries: list[int], vcpus: int) -> None:
        """One domain per entry (each a copy of the guest), `vcpus` vCPUs each."""
        if not 1 <= len(entries) <= MAX_VMS or not 1 <= vcpus <= MAX_VCPUS:
            raise FfaemuError(f"xen runs 1..{MAX_VMS} VMs with 1..{MAX_VCPUS} vCPUs each")
        self.domains = [Domain(vm, entry, vcpus) for vm, entry in enumerate(entries)]
        if self.negotiation == "legacy":
            for d in self.domains:
                d.listed = True
            self.vm_list = list(self.domains)
        self.vcpus = [Vcpu(d.vm, i) for d in self.domains for i in range(vcpus)]
        for v in self.vcpus[1:]:                # vm0.0 is booted by the EL2 stub
            dom = self.domains[v.vm]
            v.ctx = El1Context(dom.entry, EL1H_MASKED, [v.index, v.vm] + [0] * 29)

    def guest_ram(self, addr: int, size: int) -> bool:
        """get_page_from_gfn() of p2m_ram_rw: guest RAM (outside the harness region)."""
        return memmap.USER_BASE <= addr and addr + size <= memmap.RAM_BASE + self.machine.ram_size

    def partinfo_tag(self) -> int:
        """ffa_partinfo_get_tag(): moves with the VM list (FFA_VM_TO_VM), else 1."""
        return self.tag & 0xFFFF if self.vm_to_vm else 1

    # Results (ffa_private.h) -----------------------------------------------------------
    def set_regs(self, dom: Domain, *values: int) -> dict[int, int]:
        """ffa_set_regs(): x0-x7; x8-x17 zeroed once a version >= 1.2 is published."""
        regs = dict(enumerate((list(values) + [0] * 8)[:8]))
        if dom.guest_vers >= V1_2:
            regs.update((n, 0) for n in range(8, SMCCC_ARG_REGS))
        return regs

    def error(self, dom: Domain, code: int) -> dict[int, int]:
        """ffa_set_regs_error(): w2 = the code masked to 32 bits."""
        return self.set_regs(dom, FfaId.FFA_ERROR, 0, w(code))

    def success(self, dom: Domain, w2: int = 0, w3: int = 0) -> dict[int, int]:
        """ffa_set_regs_success(): FFA_SUCCESS_32 with w2, w3."""
        return self.set_regs(dom, FfaId.FFA_SUCCESS, 0, w(w2), w(w3))

    def smc(self, trap: Trap, *values: int):
        """arm_smccc_1_2_smc() with a designated-initialiser struct (unnamed registers 0)."""
        regs = [v & MASK64 for v in values] + [0] * (SMCCC_ARG_REGS - len(values))
        res = yield trap.forward(*regs)
        return list(res.xs[:SMCCC_ARG_REGS])

    # Entry ----------------------------------------------------------------------------
    def __call__(self, trap: Trap):
        vcpu = self.vcpus[self.current]
        dom = self.domains[vcpu.vm]
        if trap.ec not in (EC.HVC64, EC.SMC64):
            return None
        if self.mediator is None:
            self.mediator = (yield from self._probe(trap)) or self.vm_to_vm
        regs = yield from self._vsmccc(trap, dom, vcpu)
        if regs == "system-off":
            return trap.stop("system-off", None, f"PSCI SYSTEM_OFF from {vcpu.name}")
        if regs is None and all(v.off for v in self.vcpus):
            return trap.stop("system-off", None, "every vCPU of every VM is off")
        return self._schedule(trap, vcpu, regs)

    def _vsmccc(self, trap: Trap, dom: Domain, vcpu: Vcpu):
        """vsmc.c vsmccc_handle_call(): route by the u32 function ID, whatever the conduit."""
        fid_w = trap.w(0)
        if FID_OWNER.get(fid_w) == Owner.STANDARD:
            num = FID_NUMBER.get(fid_w)
            if num <= PSCI_FNUM_MAX:
                return self._psci(trap, vcpu)
            if FFA_FNUM_MIN <= num <= FFA_FNUM_MAX and self.mediator:
                return (yield from self._ffa(trap, dom, vcpu))
        elif fid_w == SMCCC_VERSION_FID:
            return {0: SMCCC_VERSION_1_2}
        return {0: SMCCC_UNKNOWN_X0}            # ARM_SMCCC_ERR_UNKNOWN_FUNCTION, 64-bit

    def _psci(self, trap: Trap, vcpu: Vcpu):
        fid_w = trap.w(0)
        if fid_w == Psci.VERSION:
            return {0: PSCI_VERSION_1_1}
        if fid_w == Psci.CPU_OFF:
            vcpu.off = True
            return None
        if fid_w == Psci.SYSTEM_OFF:
            return "system-off"
        return {0: SMCCC_UNKNOWN_X0}

    def _schedule(self, trap: Trap, vcpu: Vcpu, regs: dict[int, int] | None):
        """Answer the caller, then run the next runnable vCPU (round robin)."""
        answer = trap.ret(**{f"x{n}": v for n, v in (regs or {}).items()})
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

    # Firmware probe: ffa.c ffa_probe_fw ------------------------------------------------
    def _probe(self, trap: Trap):
        res = yield from self.smc(trap, FfaId.FFA_VERSION, self.own_version)
        vers = w(res[0])                        # resp.a0 & GENMASK_ULL(31, 0)
        if vers == w(FfaError.NOT_SUPPORTED):
            return False
        major, minor = VERSION_MAJOR.get(vers), VERSION_MINOR.get(vers)
        if self.per_call_version:               # 4.19 ffa_probe: the whole word in [1.1, 1.1]
            if not MIN_SPMC_VERSION <= vers <= self.own_version:
                return False
        elif major != 1 or minor < VERSION_MINOR.get(MIN_SPMC_VERSION):
            return False
        self.fw.version = OWN_VERSION if minor > VERSION_MINOR.get(OWN_VERSION) else vers
        for abi in FW_ABI_NEEDED:
            if not ret_code((yield from self.smc(trap, FfaId.FFA_FEATURES, abi))):
                self.fw.abis.add(abi)
        if FfaId.FFA_RX_ACQUIRE not in self.fw.abis and FfaId.FFA_MSG_SEND2 in self.fw.abis:
            self.fw.abis.add(FfaId.FFA_RX_ACQUIRE)      # the Hafnium <= v2.14 workaround
        ok = yield from self._spmc_init(trap)
        if not ok:
            self.fw = Firmware()                # err_no_fw: version 0, bitmap cleared
        return ok

    def _spmc_init(self, trap: Trap):
        """ffa_rxtx_spmc_init() and ffa_partinfo_init() (the SP cache)."""
        if not self.fw.supports(FfaId.FFA_RXTX_MAP_64):
            return False
        if ret_code((yield from self.smc(trap, FfaId.FFA_RXTX_MAP_64, SPMC_TX, SPMC_RX, 1))):
            yield from self.smc(trap, FfaId.FFA_RXTX_UNMAP, 0)      # ffa_rxtx_spmc_destroy
            return False
        cached = False
        if self.fw.supports(FfaId.FFA_PARTITION_INFO_GET) and \
                self.fw.supports(FfaId.FFA_MSG_SEND_DIRECT_REQ):
            res = yield from self.smc(trap, FfaId.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0)
            if not ret_code(res):
                count, size = w(res[2]), w(res[3])
                cached = count < MAX_NUM_SP and self._cache_sps(trap, count, size)
                yield from self.smc(trap, FfaId.FFA_RX_RELEASE, 0)  # notify_fw
        if not cached:
            yield from self.smc(trap, FfaId.FFA_RXTX_UNMAP, 0)      # err_rxtx_destroy
        return cached

    def _cache_sps(self, trap: Trap, count: int, size: int) -> bool:
        """ffa_sp_list_cache_init(): v1.1+ entries only; IDs without bit 15 are dropped."""
        if size < PARTINFO_1_1_SIZE or size >= PAGE or count > PAGE // size:
            return False
        blob = trap.mem.read(SPMC_RX, count * size) or bytes(count * size)
        entries = [blob[n * size:(n + 1) * size] for n in range(count)]
        self.fw.sp_list = [e for e in entries if int.from_bytes(e[:2], "little") & SECURE_ID]
        return True

    # FF-A: ffa.c ffa_handle_call ------------------------------------------------------
    def _ffa(self, trap: Trap, dom: Domain, vcpu: Vcpu):
        fid_w = trap.w(0)
        if self.negotiation == "legacy":
            if fid_w == FfaId.FFA_VERSION:
                return self._log(vcpu, dom, trap, self._legacy_version(dom, trap.w(1)))
        elif not dom.guest_vers:
            handled = self._negotiate(dom, fid_w, trap.w(1))
            if handled is not None:
                return self._log(vcpu, dom, trap, handled)
        regs = yield from self._serve(trap, dom, fid_w)
        return self._log(vcpu, dom, trap, regs)

    def _negotiate(self, dom: Domain, fid_w: int, req: int):
        """ffa_negotiate_version(): the registers when it handles the call, else None."""
        if fid_w != FfaId.FFA_VERSION:
            if not dom.guest_vers_tmp:
                return self.error(dom, FfaError.NOT_SUPPORTED)
            dom.guest_vers = dom.guest_vers_tmp   # under the domain lock: publish once
            if self.vm_to_vm:
                dom.listed = True
                self.vm_list.append(dom)
                self.tag += 1                   # ffa_partinfo_inc_tag()
            return None
        major, minor = VERSION_MAJOR.get(req), VERSION_MINOR.get(req)
        dom.guest_vers_tmp = OWN_VERSION if major != 1 or minor > VERSION_MINOR.get(OWN_VERSION) else req
        return self.set_regs(dom, OWN_VERSION)

    def _legacy_version(self, dom: Domain, req: int):
        if self.per_call_version:               # 4.19 handle_version: 1.0 or 1.1, answered
            dom.guest_vers = V1_0 if req < V1_1 else V1_1
            return self.set_regs(dom, dom.guest_vers)
        if VERSION_MAJOR.get(req) != 1:
            return self.set_regs(dom, w(FfaError.NOT_SUPPORTED))
        dom.guest_vers = min(req, OWN_VERSION)
        return self.set_regs(dom, OWN_VERSION)

    def _serve(self, trap: Trap, dom: Domain, fid_w: int):
        """ffa_handle_call()'s switch, after negotiation."""
        if fid_w == FfaId.FFA_VERSION:
            return self.set_regs(dom, self.own_version)
        if fid_w == FfaId.FFA_ID_GET:
            return self.success(dom, dom.ffa_id)
        if fid_w == FfaId.FFA_FEATURES:
            return self._features(trap, dom)
        if fid_w == FfaId.FFA_PARTITION_INFO_GET:
            return (yield from self._partition_info_get(trap, dom))
        if fid_w == FfaId.FFA_PARTITION_INFO_GET_REGS:
            return (yield from self._partition_info_get_regs(trap, dom))
        if fid_w in (FfaId.FFA_MSG_SEND_DIRECT_REQ, FfaId.FFA_MSG_SEND_DIRECT_REQ_64):
            return (yield from self._direct_req(trap, dom, fid_w))
        if fid_w == FfaId.FFA_MSG_SEND_DIRECT_REQ2:
            if dom.guest_vers >= V1_2:
                return (yield from self._direct_req(trap, dom, fid_w))
            return self.error(dom, FfaError.NOT_SUPPORTED)
        if fid_w == FfaId.FFA_RUN:
            return (yield from self._run(trap, dom, fid_w))
        if fid_w in (FfaId.FFA_MEM_SHARE, FfaId.FFA_MEM_SHARE_64):
            return (yield from self._mem_share(trap, dom))
        if fid_w in NOTIFICATIONS:
            return self._notification(trap, dom, fid_w)
        status = {
            FfaId.FFA_RXTX_MAP: lambda: self._rxtx_map(trap, dom, smc64=False),
            FfaId.FFA_RXTX_MAP_64: lambda: self._rxtx_map(trap, dom, smc64=True),
            FfaId.FFA_RXTX_UNMAP: lambda: self._rxtx_unmap(trap, dom),
            FfaId.FFA_RX_RELEASE: lambda: self._rx_release(trap, dom),
            FfaId.FFA_MEM_RECLAIM: lambda: self._mem_reclaim(trap, dom),
            FfaId.FFA_MSG_SEND2: lambda: self._msg_send2(trap, dom),
        }.get(fid_w)
        e = FfaError.NOT_SUPPORTED if status is None else (yield from status())
        return self.error(dom, e) if e else self.success(dom)

    def _log(self, vcpu: Vcpu, dom: Domain, trap: Trap, regs: dict[int, int]) -> dict[int, int]:
        name = (id_name(trap.w(0)) or f"{trap.w(0):#x}").removeprefix("FFA_")
        self.events.append(Event(len(self.events), vcpu.name, vcpu.vm, name, trap.w(1),
                                 w(regs.get(0, 0)), w(regs.get(2, trap.x(2))), dom.guest_vers,
                                 dom.guest_vers_tmp, tuple(d.vm for d in self.domains if d.listed)))
        return regs


NOTIFICATIONS = frozenset({FfaId.FFA_NOTIFICATION_BIND, FfaId.FFA_NOTIFICATION_UNBIND,
                           FfaId.FFA_NOTIFICATION_SET, FfaId.FFA_NOTIFICATION_GET,
                           FfaId.FFA_NOTIFICATION_INFO_GET, FfaId.FFA_NOTIFICATION_INFO_GET_64})
