"""pKVM's FF-A proxy at EL2, as in Linux v6.18 (tree at commit a4a508df2aa3, Makefile 6.18.0).

Sources (all at that tree): arch/arm64/kvm/hyp/nvhe/ffa.c (cited below by function),
include/linux/arm_ffa.h (IDs, FFA_RET_*, struct sizes), arch/arm64/kvm/hyp/include/nvhe/ffa.h
(FFA_MIN/MAX_FUNC_NUM), arch/arm64/include/asm/kvm_pkvm.h (KVM_FFA_MBOX_NR_PAGES,
hyp_ffa_proxy_pages) and hyp-main.c `handle_host_smc` (hint bit masked, function ID passed
as u32 to `kvm_host_ffa_handler`, everything not handled goes to `__kvm_hyp_host_forward_smc`,
which forwards x0-x17 and writes x0-x17 back).

Lifecycle (ffaemu's own framing): pKVM starts with HCR_EL2.TSC clear, so the host's SMCs
go straight to EL3. The host's init hypercall (`hvc #0`, x0 = 0xC6000001) runs
`hyp_ffa_init`, sets TSC and answers x0 = 0 or -EOPNOTSUPP (64-bit).

Widths, as the C reads them (`struct arm_smccc_1_2_regs` holds `unsigned long a0..a17`):
- `res.a0 == FFA_SUCCESS` compares all 64 bits with the zero-extended ID, so a
  sign-extended FFA_SUCCESS from EL3 reads as a failure;
- `res.a0 == FFA_RET_NOT_SUPPORTED` (hyp_ffa_init, do_ffa_version) compares all 64 bits
  with -1: v6.18 does this (`version-check=u64`, seed bug 1); `version-check=s32` (the
  default) is the seed scenario's fix, `(s32)w0 == -1`, which v6.18 does not have;
- errors pKVM makes itself are `ffa_to_smccc_error(res, (u64)int)`: x2 sign-extended, and
  every other register of `res` zero.

Bug-zoo variants (BUGZOO.md), each the code before a fix; the default is the fix:
`ffa-max-func=0x7f` (FFA_MAX_FUNC_NUM before 0dd60c4632a1: IDs 0x80-0xFF pass straight
to EL3), `retval-regs=4` (ffa_set_retval wrote x0-x3 before 6f4c348b1d5c),
`features-mask=off` (hyp_ffa_post_init switched on the whole x2 of FFA_FEATURES before
3f5952917498), `downgrade=answer` (a lower FFA_VERSION after negotiation was answered
with the hypervisor's version before f41426939244).
"""
from __future__ import annotations

from dataclasses import dataclass

from ... import memmap
from ...arch.bits import MASK64, Field, s32, sext32, w
from ...arch.exceptions import EC
from ...arch.sysregs import HCR, HCR_EL2
from ...ffa.abi import V1_0, V1_2, VERSION_MAJOR, VERSION_MINOR, FfaError, FfaId
from ...ffa.smccc import FID_FAST, FID_NUMBER, FID_OWNER, SMCCC_UNKNOWN_X0, Owner, VendorHyp, fid
from ...trap import SMCCC_ARG_REGS, Trap
from .base import HypervisorModel
from .pkvm_mem import (HOST_FFA_ID, HYP_RX, HYP_TX, MBOX_BYTES, MBOX_PAGES, PAGE, PkvmMemory,
                       regs18, smccc_error, smccc_res)

PKVM_INIT = VendorHyp.PKVM_INIT                              # 0xC6000001
EOPNOTSUPP = -95
SMCCC_CALL_HINTS = 1 << 16      # ARM_SMCCC_CALL_HINTS, masked by handle_host_smc
FFA_MIN_FUNC_NUM = 0x60         # nvhe/ffa.h
# FFA_MAX_FUNC_NUM (0xFF) and ffa_set_retval's register count (18) are the options
# ffa-max-func and retval-regs.

PARTITION_INFO_1_0 = 8          # arm_ffa.h FFA_1_0_PARTITON_INFO_SZ
FEAT_RXTX_MIN_SZ = Field(1, 0)  # arm_ffa.h FFA_FEAT_RXTX_MIN_SZ_MASK: 0 = 4K, 1 = 64K, 2 = 16K
RXTX_MIN_SZ = {0: 0x1000, 1: 0x10000, 2: 0x4000}

FFA_MEM_OP_PAUSE = fid(0x78, Owner.STANDARD)     # arm_ffa.h; not in DEN0077 v1.2's table
FFA_MEM_OP_RESUME = fid(0x79, Owner.STANDARD)

# ffa.c ffa_call_supported(): the IDs that are refused with NOT_SUPPORTED.
UNSUPPORTED = frozenset({
    FfaId.FFA_MEM_RETRIEVE_REQ_64, FfaId.FFA_MEM_RETRIEVE_RESP, FfaId.FFA_MEM_RELINQUISH,
    FFA_MEM_OP_PAUSE, FFA_MEM_OP_RESUME, FfaId.FFA_MEM_FRAG_RX, FfaId.FFA_MEM_DONATE_64,
    FfaId.FFA_MSG_SEND, FfaId.FFA_MSG_POLL, FfaId.FFA_MSG_WAIT,
    FfaId.FFA_MSG_SEND_DIRECT_RESP, FfaId.FFA_RXTX_MAP, FfaId.FFA_MEM_DONATE,
    FfaId.FFA_MEM_RETRIEVE_REQ,
    FfaId.FFA_NOTIFICATION_BITMAP_CREATE, FfaId.FFA_NOTIFICATION_BITMAP_DESTROY,
    FfaId.FFA_NOTIFICATION_BIND, FfaId.FFA_NOTIFICATION_UNBIND, FfaId.FFA_NOTIFICATION_SET,
    FfaId.FFA_NOTIFICATION_GET, FfaId.FFA_NOTIFICATION_INFO_GET,
    FfaId.FFA_MSG_SEND_DIRECT_REQ2, FfaId.FFA_MSG_SEND_DIRECT_RESP2, FfaId.FFA_CONSOLE_LOG,
    FfaId.FFA_PARTITION_INFO_GET_REGS,
})
# ffa.c do_ffa_features(): answered at EL2 with SUCCESS, w2 = 0 (no dynamic buffers).
FEATURES_AT_EL2 = frozenset({FfaId.FFA_MEM_SHARE, FfaId.FFA_MEM_SHARE_64,
                             FfaId.FFA_MEM_LEND, FfaId.FFA_MEM_LEND_64})
# kvm_host_ffa_handler(): the other calls handled at EL2, by method.
HANDLERS = {FfaId.FFA_RXTX_MAP_64: "_rxtx_map", FfaId.FFA_RXTX_UNMAP: "_rxtx_unmap",
            FfaId.FFA_MEM_RECLAIM: "_mem_reclaim", FfaId.FFA_MEM_FRAG_TX: "_mem_frag_tx",
            FfaId.FFA_VERSION: "_version", FfaId.FFA_PARTITION_INFO_GET: "_partition_info_get"}
# kvm_host_ffa_handler(): both widths of MEM_SHARE/LEND go to EL3 as the SMC64 form.
MEM_XFER = {FfaId.FFA_MEM_SHARE: FfaId.FFA_MEM_SHARE_64, FfaId.FFA_MEM_SHARE_64: FfaId.FFA_MEM_SHARE_64,
            FfaId.FFA_MEM_LEND: FfaId.FFA_MEM_LEND_64, FfaId.FFA_MEM_LEND_64: FfaId.FFA_MEM_LEND_64}

VERSION_NS = sext32(FfaError.NOT_SUPPORTED)      # do_ffa_version: res->a0 = FFA_RET_NOT_SUPPORTED
# kvm_host_ffa_handler(): the negotiated host's FF-A calls that are not passed through as they are.
AT_EL2 = frozenset({FfaId.FFA_VERSION, FfaId.FFA_FEATURES, *MEM_XFER, *HANDLERS, *UNSUPPORTED})


@dataclass
class HostBuffers:
    tx: int
    rx: int


class Pkvm(PkvmMemory, HypervisorModel):
    """The pKVM FF-A proxy; `name`, `traps_smc` and the options are what the CLI uses."""

    name = "pkvm"
    traps_smc = False                       # TSC is set by the init hypercall, not at boot
    # The first value is the default. Bug-zoo variants (BUGZOO.md): the fixed value first.
    # DEN0028C §2.6 has an SMC32/HVC32 call preserve x8-x30, but ffa_set_retval() writes
    # x0-x17 of every answer pKVM makes (6f4c348b1d5c: "assume SMC64 and send back x0-x17
    # unconditionally as the passthrough code ... does the same"): a declared deviation for
    # the register checker (ffa/smccc_rules.py).
    smccc_deviations = {"smc32-preserves-x8-x17": "ffa_set_retval writes x0-x17 for SMC32 "
                        "calls too (6f4c348b1d5c)"}
    options = {"version-check": ("s32", "u64"), "negotiate-at-init": ("off", "on"),
               "features-mask": ("on", "off"), "downgrade": ("refuse", "answer"),
               "ffa-max-func": ("0xff", "0x7f"), "retval-regs": ("18", "4")}

    def __init__(self, **options: str):
        super().__init__(**options)
        opt = {key: options.get(key, values[0]) for key, values in self.options.items()}
        self.version_check = opt["version-check"]
        self.negotiate_at_init = opt["negotiate-at-init"] == "on"
        # Bug-zoo variants (see the module docstring); the defaults are the fixed code.
        self.features_mask = opt["features-mask"] == "on"        # 3f5952917498
        self.downgrade = opt["downgrade"]                        # f41426939244
        self.max_func = int(opt["ffa-max-func"], 16)             # 0dd60c4632a1
        self.retval_regs = int(opt["retval-regs"])               # 6f4c348b1d5c
        self._ffa_call_ids: dict[int, bool] = {}   # is_ffa_call's answers (max_func is fixed)
        self.initialised = False
        self.refused = False
        self.ffa_available = False              # informational: what hyp_ffa_init found
        self.hyp_version = 0                    # static u32 hyp_ffa_version
        self.negotiated = False                 # has_version_negotiated
        self.host_buffers: HostBuffers | None = None
        self.init_answer: int | None = None     # x0 of FFA_VERSION at init, as EL3 left it
        self.shared_pages: set[int] = set()     # host pages in the FF-A shared state

    # Entry: hyp-main.c handle_trap / handle_host_smc ---------------------------------
    def __call__(self, trap: Trap):
        """`_host_call`, a generator the machine drives, with two shortcuts taken before
        any generator is made: FFA_VERSION once negotiated is answered at once, and an
        FF-A call kvm_host_ffa_handler leaves alone is passed through as `_pass_through`
        does, by returning the forward (trap.py: the machine gives the host EL3's x0-x17)."""
        if trap.ec == EC.SMC64 and self._shortcuts:
            func_id = w(trap.x(0) & ~SMCCC_CALL_HINTS)      # u32 func_id, hint bit masked
            if self.is_ffa_call(func_id):
                if func_id == FfaId.FFA_VERSION:
                    res = self._version_at_el2(trap)
                    if res is not None:
                        return self._set_retval(trap, res)
                elif self.negotiated and func_id not in AT_EL2:
                    return trap.forward()       # _pass_through, by the machine (trap.py)
        return self._host_call(trap)

    _shortcuts = True

    def __init_subclass__(cls, **kw):
        """A subclass that changes how pKVM routes host calls gets no shortcuts."""
        super().__init_subclass__(**kw)
        cls._shortcuts = all(getattr(cls, name) is getattr(Pkvm, name) for name in
                             ("_host_call", "_host_ffa", "_version", "_version_at_el2",
                              "_pass_through", "_set_retval", "is_ffa_call"))

    def _host_call(self, trap: Trap):
        if trap.ec == EC.HVC64:
            return (yield from self._hypercall(trap))
        if trap.ec != EC.SMC64:
            return None
        func_id = w(trap.x(0) & ~SMCCC_CALL_HINTS)      # u32 func_id, hint bit masked
        if not self.is_ffa_call(func_id):
            return (yield from self._pass_through(trap))
        res = yield from self._host_ffa(trap, func_id)
        if res is None:
            return (yield from self._pass_through(trap))
        return self._set_retval(trap, res)

    def is_ffa_call(self, func_id: int) -> bool:
        """ffa.c is_ffa_call(): a fast standard-service call numbered 0x60..FFA_MAX_FUNC_NUM
        (remembered per function ID: it is asked on every host SMC)."""
        known = self._ffa_call_ids.get(func_id)
        if known is None:
            known = self._ffa_call_ids[func_id] = (
                FID_FAST.get(func_id) == 1 and FID_OWNER.get(func_id) == Owner.STANDARD
                and FFA_MIN_FUNC_NUM <= FID_NUMBER.get(func_id) <= self.max_func)
        return known

    def _pass_through(self, trap: Trap):
        """__kvm_hyp_host_forward_smc: the host's x0-x17 to EL3, EL3's x0-x17 back."""
        res = yield trap.forward()
        return trap.ret(*res.xs[:SMCCC_ARG_REGS])

    def _set_retval(self, trap: Trap, res: list[int]):
        """ffa.c ffa_set_retval(): x0-x17 from `res` (SMC64 assumed, even for SMC32 calls)."""
        return trap.ret(*res[:self.retval_regs])

    def _smc(self, trap: Trap, *values: int):
        """arm_smccc_1_2_smc() with a designated-initialiser struct: unnamed registers are 0."""
        res = yield trap.forward(*regs18(*values))
        return list(res.xs[:SMCCC_ARG_REGS])

    def _is_not_supported(self, x0: int) -> bool:
        """`res.a0 == FFA_RET_NOT_SUPPORTED`: 64-bit in v6.18 (u64), or the s32 fix."""
        return x0 == MASK64 if self.version_check == "u64" else s32(x0) == -1

    # Init: hyp_ffa_init --------------------------------------------------------------
    def _hypercall(self, trap: Trap):
        if trap.x(0) != PKVM_INIT or self.initialised:
            return trap.ret(SMCCC_UNKNOWN_X0)
        res = yield from self._smc(trap, FfaId.FFA_VERSION, V1_2)
        x0 = self.init_answer = res[0]
        if not self._is_not_supported(x0):
            if VERSION_MAJOR.get(x0) != 1:         # FIELD_GET(GENMASK(30, 16), a0)
                self.refused = True
                return trap.ret(EOPNOTSUPP & MASK64)
            self.ffa_available = True
            minor = VERSION_MINOR.get(x0)
            self.hyp_version = w(x0) if minor < VERSION_MINOR.get(V1_2) else V1_2
            self.negotiated = self.negotiate_at_init
        self.initialised = True
        cpu = self.machine.cpu
        cpu.set_sysreg(HCR_EL2, cpu.sysreg(HCR_EL2) | HCR.TSC)
        return trap.ret(0)

    # Host FF-A calls: kvm_host_ffa_handler -------------------------------------------
    def _host_ffa(self, trap: Trap, func_id: int):
        """The 18 result registers, or None to pass the call through to EL3."""
        if func_id != FfaId.FFA_VERSION and not self.negotiated:
            return smccc_error(FfaError.INVALID_PARAMETERS)
        if func_id == FfaId.FFA_FEATURES:
            return self._features(trap)
        if func_id in MEM_XFER:
            return (yield from self._mem_xfer(trap, MEM_XFER[func_id]))
        handler = HANDLERS.get(func_id)
        if handler is not None:
            return (yield from getattr(self, handler)(trap))
        if func_id in UNSUPPORTED:
            return smccc_error(FfaError.NOT_SUPPORTED)
        return None

    def _features(self, trap: Trap):
        """do_ffa_features(): refuse unsupported IDs, answer MEM_SHARE/LEND, else forward."""
        asked = trap.w(1)
        if asked in UNSUPPORTED:
            return smccc_error(FfaError.NOT_SUPPORTED)
        if asked in FEATURES_AT_EL2:
            return smccc_res(0, 0)
        return None

    def _version(self, trap: Trap):
        """do_ffa_version(). Only res->a0 is set (unless EL3 was asked), and `res` is an
        uninitialised local of kvm_host_ffa_handler: ffa_set_retval copies a1-a17 of EL2's
        stack to the host. They are zero here, as with CONFIG_INIT_STACK_ALL_ZERO
        (security/Kconfig.hardening's default where the compiler has
        -ftrivial-auto-var-init=zero); without it they are whatever the stack held."""
        res = self._version_at_el2(trap)
        if res is not None:
            return res
        req = trap.w(1)
        lower = VERSION_MINOR.get(req) < VERSION_MINOR.get(self.hyp_version)
        res = regs18()
        if lower:                                  # "ask first if TEE supports it"
            res = yield from self._smc(trap, FfaId.FFA_VERSION, req)
            if self._is_not_supported(res[0]):
                return res
            self.hyp_version = req
        ok = yield from self._post_init(trap)
        if not ok:
            res[0] = VERSION_NS
            return res
        self.negotiated = True                     # smp_store_release(&has_version_negotiated)
        res[0] = self.hyp_version
        return res

    def _version_at_el2(self, trap: Trap) -> list[int] | None:
        """do_ffa_version() up to its first SMC: the result registers when pKVM answers
        at once (a major version other than 1, or the version already negotiated), None
        when it goes on to ask EL3 (`_version`)."""
        req = trap.w(1)
        res = regs18()
        if VERSION_MAJOR.get(req) != 1:            # bit 31 is outside [30:16]: ignored
            res[0] = VERSION_NS
            return res
        lower = VERSION_MINOR.get(req) < VERSION_MINOR.get(self.hyp_version)
        if self.negotiated:
            res[0] = VERSION_NS if lower and self.downgrade == "refuse" else self.hyp_version
            return res
        return None

    def _post_init(self, trap: Trap):
        """hyp_ffa_post_init(): EL3 must know us as ID 0 and accept 4 KiB RX/TX buffers."""
        res = yield from self._smc(trap, FfaId.FFA_ID_GET)
        if res[0] != FfaId.FFA_SUCCESS or res[2] != HOST_FFA_ID:     # 64-bit compares
            return False
        res = yield from self._smc(trap, FfaId.FFA_FEATURES, FfaId.FFA_RXTX_MAP_64)
        if res[0] != FfaId.FFA_SUCCESS:
            return False
        size = RXTX_MIN_SZ.get(FEAT_RXTX_MIN_SZ.get(res[2]) if self.features_mask else res[2])
        return size is not None and size <= PAGE

    def _rxtx_map(self, trap: Trap):
        """do_ffa_rxtx_map(): map the hyp's buffers at EL3, then share the host's with EL2."""
        tx, rx, npages = trap.x(1), trap.x(2), trap.w(3)
        if npages != MBOX_PAGES or tx % PAGE or rx % PAGE:
            return smccc_error(FfaError.INVALID_PARAMETERS)
        if self.host_buffers is not None:
            return smccc_error(FfaError.DENIED)
        res = yield from self._smc(trap, FfaId.FFA_RXTX_MAP_64, HYP_TX, HYP_RX, npages)
        ret = 0 if res[0] == FfaId.FFA_SUCCESS else s32(res[2])   # ffa_map_hyp_buffers
        if ret:
            return smccc_error(ret)
        if not (self._host_owned(tx, PAGE) and self._host_owned(rx, PAGE)) or tx == rx:
            yield from self._smc(trap, FfaId.FFA_RXTX_UNMAP, HOST_FFA_ID)    # err_unmap
            return smccc_error(FfaError.INVALID_PARAMETERS)
        self.host_buffers = HostBuffers(tx, rx)
        return smccc_res(0)

    def _rxtx_unmap(self, trap: Trap):
        """do_ffa_rxtx_unmap(): w1 must be HOST_FFA_ID (the whole u32, so 0)."""
        if trap.w(1) != HOST_FFA_ID or self.host_buffers is None:
            return smccc_error(FfaError.INVALID_PARAMETERS)
        self.host_buffers = None
        yield from self._smc(trap, FfaId.FFA_RXTX_UNMAP, HOST_FFA_ID)      # result ignored
        return smccc_res(0)

    def _host_owned(self, addr: int, size: int) -> bool:
        """__pkvm_host_share_hyp/ffa succeed only on host-owned RAM (not hyp memory)."""
        return memmap.USER_BASE <= addr and addr + size <= memmap.RAM_BASE + self.machine.ram_size

    def _partition_info_get(self, trap: Trap):
        """do_ffa_part_get(): forwarded with w1-w5 only; the descriptors copied to the host's RX."""
        if self.host_buffers is None:
            return smccc_error(FfaError.BUSY)
        flags = trap.w(5)
        res = yield from self._smc(trap, FfaId.FFA_PARTITION_INFO_GET, *(trap.w(n) for n in range(1, 6)))
        if res[0] != FfaId.FFA_SUCCESS:
            return res
        count = w(res[2])
        if not count:
            return res
        if self.hyp_version > V1_0:
            if flags & 1:                          # FFA_PARTITION_INFO_GET count flag
                return res
            size = w(res[3])
        else:
            size = PARTITION_INFO_1_0
        copy = w(size * count)                     # u32 arithmetic
        if copy > MBOX_BYTES:
            return smccc_error(FfaError.ABORTED)
        trap.mem.write(self.host_buffers.rx, trap.mem.read(HYP_RX, copy) or bytes(copy))
        return res


