"""pKVM's FF-A proxy at EL2 (Linux arch/arm64/kvm/hyp/nvhe/ffa.c), as FFA.md describes it.

Lifecycle: pKVM starts un-initialised, with HCR_EL2.TSC clear, so the host's SMCs go
straight to EL3. The host's init hypercall (`hvc #0`, x0 = 0xC6000001, an SMC64 vendor
hypervisor fast call like KVM's host hypercalls) runs `hyp_ffa_init`, sets TSC and
answers x0 = 0 or -EOPNOTSUPP as a 64-bit value.

`hyp_ffa_init` sends FFA_VERSION(1.2) to EL3 and checks the answer:
- `version-check=u64` (bug 1, before the fix): compares the 64-bit x0 with -1, so a
  zero-extended NOT_SUPPORTED (x0 = 0x00000000ffffffff) falls through, the major reads
  as 0x7fff and pKVM refuses to initialise;
- `version-check=s32` (the fix, default): `(s32)w0 == -1` means "no FF-A": pKVM
  initialises without the proxy (host FF-A calls then pass through).
Major != 1 -> refuse; minor < 2 -> the firmware's version; else 1.2. Negotiation with
the host is *not* marked done, unless `negotiate-at-init=on` (the rejected fix for bug 2).

After init every host FF-A call is trapped: before negotiation anything but
FFA_VERSION gets FFA_ERROR(INVALID_PARAMETERS); RXTX_MAP/UNMAP, MEM_SHARE/LEND/RECLAIM,
PARTITION_INFO_GET and FEATURES are handled at EL2 with the hypervisor's own RX/TX
buffers towards EL3; a deny-list gets NOT_SUPPORTED; the rest passes through. pKVM
writes errors sign-extended (FFA_ERROR's w2, and x0 for FFA_VERSION's NOT_SUPPORTED).
"""
from __future__ import annotations

from dataclasses import dataclass

from ... import memmap
from ...arch.bits import MASK64, s32, sext32, w
from ...arch.exceptions import EC
from ...arch.sysregs import HCR, HCR_EL2
from ...errors import FfaemuError
from ...ffa.abi import (V1_0, V1_2, VERSION_MAJOR, VERSION_MINOR, FfaError, FfaId, Func,
                        func_of, version)
from ...ffa import memdesc
from ...ffa.smccc import SMCCC_UNKNOWN_X0, VendorHyp
from ...trap import Trap

PKVM_INIT = VendorHyp.PKVM_INIT                              # 0xC6000001
EOPNOTSUPP = -95
HOST_FFA_ID = 0
PAGE = 0x1000
MBOX_PAGES = 1
HYP_TX = memmap.HARNESS_BASE + 0x8_0000     # the hypervisor's own mailbox, in hyp memory
HYP_RX = HYP_TX + PAGE

# ffa_call_supported(): calls pKVM refuses with NOT_SUPPORTED.
DENY = {FfaId.FFA_MEM_RETRIEVE_REQ_64, FfaId.FFA_MEM_RETRIEVE_RESP, FfaId.FFA_MEM_RELINQUISH,
        FfaId.FFA_MEM_FRAG_RX, FfaId.FFA_MEM_DONATE_64, FfaId.FFA_MSG_SEND, FfaId.FFA_MSG_POLL,
        FfaId.FFA_MSG_WAIT, FfaId.FFA_MSG_SEND_DIRECT_RESP, FfaId.FFA_RXTX_MAP,
        FfaId.FFA_MEM_DONATE, FfaId.FFA_MEM_RETRIEVE_REQ}
MEM_XFER = {FfaId.FFA_MEM_SHARE: FfaId.FFA_MEM_SHARE_64, FfaId.FFA_MEM_SHARE_64: FfaId.FFA_MEM_SHARE_64,
            FfaId.FFA_MEM_LEND: FfaId.FFA_MEM_LEND_64, FfaId.FFA_MEM_LEND_64: FfaId.FFA_MEM_LEND_64}
MEM_REGION_MIN = 48 + 16          # ffa_mem_region + one ffa_mem_region_attributes


@dataclass
class HostBuffers:
    tx: int
    rx: int


class Pkvm:
    """The pKVM FF-A proxy; `name`, `traps_smc` and the options are what the CLI uses."""

    name = "pkvm"
    traps_smc = False                       # TSC is set by the init hypercall, not at boot
    options = {"version-check": ("s32", "u64"), "negotiate-at-init": ("off", "on")}

    def __init__(self, **options: str):
        for key, value in options.items():
            if key not in self.options:
                raise FfaemuError(f"hypervisor model 'pkvm' has no option '{key}' "
                                  f"(valid: {', '.join(self.options)})")
            if value not in self.options[key]:
                raise FfaemuError(f"invalid value '{value}' for pkvm:{key} "
                                  f"(valid: {', '.join(self.options[key])})")
        self.version_check = options.get("version-check", "s32")
        self.negotiate_at_init = options.get("negotiate-at-init", "off") == "on"
        self.machine = None
        self.initialised = False
        self.refused = False
        self.ffa_available = False
        self.hyp_version = 0
        self.negotiated = False
        self.host_buffers: HostBuffers | None = None
        self.init_answer: int | None = None         # x0 of FFA_VERSION at init, as EL3 left it
        self.shares: dict[int, tuple] = {}

    @property
    def handler(self):
        return self

    def bind(self, machine) -> None:
        self.machine = machine

    # Entry ----------------------------------------------------------------------------
    def __call__(self, trap: Trap):
        if trap.ec == EC.HVC64:
            return (yield from self._hypercall(trap))
        if trap.ec != EC.SMC64:
            return None
        if not self.ffa_available or func_of(trap.w(0)) is None:
            res = yield trap.forward()              # not FF-A, or no proxy: pass through
            return trap.ret(*res.xs[:8])
        return (yield from self._host_ffa(trap))

    def _hypercall(self, trap: Trap):
        if trap.x(0) != PKVM_INIT or self.initialised:
            return trap.ret(SMCCC_UNKNOWN_X0)
        res = yield trap.forward(FfaId.FFA_VERSION, V1_2, *([0] * 6))
        x0 = res.x(0)
        self.init_answer = x0
        if self.version_check == "u64":
            no_ffa = x0 == MASK64                  # bug 1: the 64-bit x0 compared with -1
            major, minor = (x0 >> 16) & 0x7FFF, x0 & 0xFFFF
        else:
            no_ffa = s32(x0) == -1                 # the fix: (s32)w0 == FFA_RET_NOT_SUPPORTED
            major, minor = VERSION_MAJOR.get(w(x0)), VERSION_MINOR.get(w(x0))
        if not no_ffa:
            if major != 1:
                self.refused = True
                return trap.ret(EOPNOTSUPP & MASK64)
            self.ffa_available = True
            self.hyp_version = version(1, min(minor, 2))
            self.negotiated = self.negotiate_at_init
        self.initialised = True
        cpu = self.machine.cpu
        cpu.set_sysreg(HCR_EL2, cpu.sysreg(HCR_EL2) | HCR.TSC)
        return trap.ret(0)

    # Host FF-A calls (kvm_host_ffa_handler) ------------------------------------------
    def _host_ffa(self, trap: Trap):
        fid_w = trap.w(0)
        func = func_of(fid_w)
        if func is Func.VERSION:
            return (yield from self._version(trap))
        if not self.negotiated:
            return self._error(trap, FfaError.INVALID_PARAMETERS)
        if fid_w == FfaId.FFA_RXTX_MAP_64:
            return (yield from self._rxtx_map(trap))
        if fid_w == FfaId.FFA_RXTX_UNMAP:
            return (yield from self._rxtx_unmap(trap))
        if fid_w in MEM_XFER:
            return (yield from self._mem_xfer(trap, MEM_XFER[fid_w]))
        if fid_w == FfaId.FFA_PARTITION_INFO_GET:
            return (yield from self._partition_info_get(trap))
        if fid_w == FfaId.FFA_FEATURES and func_of(trap.w(1)) in (Func.MEM_SHARE, Func.MEM_LEND):
            return self._success(trap, 0)           # no dynamic buffer support
        if fid_w in DENY:
            return self._error(trap, FfaError.NOT_SUPPORTED)
        res = yield trap.forward()
        return trap.ret(*res.xs[:8])

    def _error(self, trap: Trap, code: FfaError | int):
        return trap.ret(FfaId.FFA_ERROR, 0, sext32(code), 0, 0, 0, 0, 0)

    def _success(self, trap: Trap, *values: int):
        regs = [FfaId.FFA_SUCCESS, 0, *values]
        return trap.ret(*(regs + [0] * (8 - len(regs))))

    def _version(self, trap: Trap):
        """do_ffa_version (FFA.md)."""
        req = trap.w(1)
        ns = sext32(FfaError.NOT_SUPPORTED)
        if VERSION_MAJOR.get(req) != 1:            # bit 31 is outside [30:16]: ignored
            return trap.ret(ns, 0, 0, 0, 0, 0, 0, 0)
        if self.negotiated:
            answer = ns if VERSION_MINOR.get(req) < VERSION_MINOR.get(self.hyp_version) else self.hyp_version
            return trap.ret(answer, 0, 0, 0, 0, 0, 0, 0)
        if VERSION_MINOR.get(req) < VERSION_MINOR.get(self.hyp_version):
            res = yield trap.forward(FfaId.FFA_VERSION, req, *([0] * 6))
            if s32(res.x(0)) == FfaError.NOT_SUPPORTED:
                return trap.ret(ns, 0, 0, 0, 0, 0, 0, 0)
            self.hyp_version = req
        ok = yield from self._post_init(trap)
        if not ok:
            return trap.ret(ns, 0, 0, 0, 0, 0, 0, 0)
        self.negotiated = True                     # smp_store_release(&has_version_negotiated)
        return trap.ret(self.hyp_version, 0, 0, 0, 0, 0, 0, 0)

    def _post_init(self, trap: Trap):
        """hyp_ffa_post_init: the SPMD must know us as the host, with 4 KiB buffers."""
        res = yield trap.forward(FfaId.FFA_ID_GET, *([0] * 7))
        if w(res.x(0)) != FfaId.FFA_SUCCESS or w(res.x(2)) != HOST_FFA_ID:
            return False
        res = yield trap.forward(FfaId.FFA_FEATURES, FfaId.FFA_RXTX_MAP_64, *([0] * 6))
        return w(res.x(0)) == FfaId.FFA_SUCCESS and w(res.x(2)) & 0x3 == 0

    def _rxtx_map(self, trap: Trap):
        tx, rx, pages = trap.x(1), trap.x(2), trap.w(3)
        if pages != MBOX_PAGES or tx % PAGE or rx % PAGE:
            return self._error(trap, FfaError.INVALID_PARAMETERS)
        if self.host_buffers is not None:
            return self._error(trap, FfaError.DENIED)
        res = yield trap.forward(FfaId.FFA_RXTX_MAP_64, HYP_TX, HYP_RX, MBOX_PAGES, 0, 0, 0, 0)
        if w(res.x(0)) != FfaId.FFA_SUCCESS:
            # ffa_map_hyp_buffers returns res.a2 as an int, whatever EL3 put there.
            return self._error(trap, s32(res.x(2)))
        if not (self._host_owned(tx, PAGE) and self._host_owned(rx, PAGE)):
            yield trap.forward(FfaId.FFA_RXTX_UNMAP, HOST_FFA_ID << 16, *([0] * 6))
            return self._error(trap, FfaError.INVALID_PARAMETERS)
        self.host_buffers = HostBuffers(tx, rx)
        return self._success(trap)

    def _rxtx_unmap(self, trap: Trap):
        if self.host_buffers is None:
            return self._error(trap, FfaError.INVALID_PARAMETERS)
        yield trap.forward(FfaId.FFA_RXTX_UNMAP, HOST_FFA_ID << 16, *([0] * 6))
        self.host_buffers = None
        return self._success(trap)

    def _host_owned(self, addr: int, size: int) -> bool:
        """Host memory: RAM outside the hypervisor's (harness) region."""
        return memmap.USER_BASE <= addr and addr + size <= memmap.RAM_BASE + self.machine.ram_size

    def _mem_xfer(self, trap: Trap, hyp_fid: int):
        length, fraglen, addr, npages = trap.w(1), trap.w(2), trap.x(3), trap.w(4)
        if addr or npages or fraglen > length or fraglen > MBOX_PAGES * PAGE or fraglen < MEM_REGION_MIN:
            return self._error(trap, FfaError.INVALID_PARAMETERS)
        if self.host_buffers is None:
            return self._error(trap, FfaError.INVALID_PARAMETERS)
        desc = trap.mem.read(self.host_buffers.tx, fraglen)
        ranges = _ranges(desc)
        if ranges is None or not all(self._host_owned(a, p * PAGE) for a, p in ranges):
            return self._error(trap, FfaError.INVALID_PARAMETERS)
        trap.mem.write(HYP_TX, desc)
        res = yield trap.forward(hyp_fid, length, fraglen, 0, 0, 0, 0, 0)
        if w(res.x(0)) == FfaId.FFA_SUCCESS:
            self.shares[(w(res.x(3)) << 32) | w(res.x(2))] = tuple(ranges)
        return trap.ret(*res.xs[:8])

    def _partition_info_get(self, trap: Trap):
        if self.host_buffers is None:
            return self._error(trap, FfaError.BUSY)
        res = yield trap.forward(*trap.xs[:6], 0, 0)
        if w(res.x(0)) != FfaId.FFA_SUCCESS or not w(res.x(2)) or trap.w(5) & 1:
            return trap.ret(*res.xs[:8])
        size = w(res.x(3)) if self.hyp_version > V1_0 else 8
        if size * w(res.x(2)) > MBOX_PAGES * PAGE:       # do_ffa_part_get: copy_sz too big
            return self._error(trap, FfaError.ABORTED)
        blob = trap.mem.read(HYP_RX, size * w(res.x(2)))
        trap.mem.write(self.host_buffers.rx, blob)
        return trap.ret(*res.xs[:8])


def _ranges(desc: bytes | None) -> list[tuple[int, int]] | None:
    """(address, pages) of a descriptor with one receiver, or None if malformed."""
    if desc is None:
        return None
    try:
        region = memdesc.parse(desc)
    except ValueError:
        return None
    return list(region.ranges) if len(region.receivers) == 1 else None
