"""OP-TEE as the S-EL1 SPMC (CFG_CORE_SEL1_SPMC=y, QEMU `vexpress-qemu_armv8a`), as calls the
TF-A SPMD forwards reach it. Follows OP-TEE 4.10.0 (753afbbee168) and 4.4.0 (8f645256efc0):
core/arch/arm/kernel/thread_spmc.c (thread_spmc_msg_recv and the handlers it calls),
core/arch/arm/mm/mobj_ffa.c (handles). Held to the real images by tests/test_fwdiff.py.
Release differences are the data in `OPTEE_RELEASES`. Memory sharing is in optee_mem.py,
notifications in optee_notif.py, what they share in optee_common.py.

What a caller sees of OP-TEE: one partition, OP-TEE itself (ID 0x8001, UUID
486178e0-e7f8-11e3-bc5e-0002a5d5c51b, 4 execution contexts), answering OP-TEE's own
direct-request protocol (optee_ffa.h); the SPMC's ID 0x8000 from the SPMD manifest.
Every answer is spmc_set_args(): w0-w5 zero-extended, x6-x17 zero.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ...arch.bits import MASK32
from ...ffa.abi import V1_0, V1_1, V1_2, VERSION_MAJOR, VERSION_MINOR, FfaError, FfaId
from ...ffa.smccc import FID_SMC64
from .base import FirmwarePanic
from .bl31 import Spmc
from .optee_common import (OPTEE_ID, PAGE, SPMC_ID, TEE_ERROR_BAD_PARAMETERS, args, error,
                           ns_mappable, success)
from .optee_mem import OpteeMemory
from .optee_notif import Notifications

OPTEE_UUID_WORDS = (0xE0786148, 0xE311F8E7, 0x02005EBC, 0x1BC5D5A5)   # optee_core_lsp
NB_CORE = 4                         # CFG_TEE_CORE_NB_CORE (plat-vexpress, qemu_armv8a)
PROP_DIRECT_REQ_RECV, PROP_DIRECT_REQ_SEND, PROP_AARCH64 = 1 << 0, 1 << 1, 1 << 8
PROPS_V10_MASK = 0x7                # spmc_fill_partition_entry: bits [2:0] only in FF-A 1.0
OPTEE_PROPS = PROP_DIRECT_REQ_RECV | PROP_DIRECT_REQ_SEND | PROP_AARCH64   # IS_PE_ID is 0
COUNT_ONLY_FLAG = 1 << 0            # FFA_PARTITION_INFO_GET_COUNT_FLAG
MSG_FLAG_FRAMEWORK = 1 << 31
MSG_TYPE_MASK = 0xFF
MSG_VERSION_REQ, MSG_VERSION_RESP = 0x8, 0x9
YIELDING_CALL_BIT = 1 << 31         # OPTEE_FFA_YIELDING_CALL_BIT
YIELDING_CALL_WITH_ARG = YIELDING_CALL_BIT | 0   # OPTEE_FFA_YIELDING_CALL_WITH_ARG
YIELDING_CALL_RESUME = YIELDING_CALL_BIT | 1     # OPTEE_FFA_YIELDING_CALL_RESUME
MAX_ASYNC_NOTIF_VALUE = 64          # OPTEE_FFA_MAX_ASYNC_NOTIF_VALUE
RPC_MAX_NUM_PARAMS = 4              # THREAD_RPC_MAX_NUM_PARAMS

# handle_features(): w2 per function ID; absent -> NOT_SUPPORTED. Keys are W values.
_FEATURES_ZERO = (FfaId.FFA_ERROR, FfaId.FFA_VERSION, FfaId.FFA_SUCCESS, FfaId.FFA_SUCCESS_64,
                  FfaId.FFA_FEATURES, FfaId.FFA_SPM_ID_GET, FfaId.FFA_MEM_FRAG_TX, FfaId.FFA_MEM_RECLAIM,
                  FfaId.FFA_MSG_SEND_DIRECT_REQ_64, FfaId.FFA_MSG_SEND_DIRECT_REQ, FfaId.FFA_INTERRUPT,
                  FfaId.FFA_PARTITION_INFO_GET, FfaId.FFA_RXTX_UNMAP, FfaId.FFA_RX_RELEASE, 0x3,
                  FfaId.FFA_NOTIFICATION_BITMAP_CREATE, FfaId.FFA_NOTIFICATION_BITMAP_DESTROY,
                  FfaId.FFA_NOTIFICATION_BIND, FfaId.FFA_NOTIFICATION_UNBIND, FfaId.FFA_NOTIFICATION_SET,
                  FfaId.FFA_NOTIFICATION_GET, FfaId.FFA_NOTIFICATION_INFO_GET,
                  FfaId.FFA_NOTIFICATION_INFO_GET_64, FfaId.FFA_RXTX_MAP, FfaId.FFA_RXTX_MAP_64)
NOTIF_INTID = 8                     # FFA_FEATURE_SCHEDULE_RECV_INTR (real-firmware run)
FEATURES = {**{int(f): 0 for f in _FEATURES_ZERO},
            int(FfaId.FFA_MEM_SHARE): 1, int(FfaId.FFA_MEM_SHARE_64): 1,   # BIT(0): dynamic buffer
            0x2: NOTIF_INTID}


def _version_1_2(requested: int, current: int) -> tuple[int, int]:
    """4.10 spmc_exchange_version: major 1 -> record min(requested, 1.2); answer 1.2."""
    if VERSION_MAJOR.get(requested) == 1:
        current = V1_2 if VERSION_MINOR.get(requested) > VERSION_MINOR.get(V1_2) else requested
    return V1_2, current


def _version_1_1(requested: int, current: int) -> tuple[int, int]:
    """4.4 spmc_exchange_version: below 1.1 -> 1.0, otherwise 1.1 (any major); answer it."""
    recorded = V1_0 if requested < V1_1 else V1_1
    return recorded, recorded


@dataclass(frozen=True)
class OpteeRelease:
    tag: str
    tfa: str                          # the TF-A release of the image pair (SPMD_RELEASES key)
    own_version: int                  # the FF-A version it implements
    exchange_version: object          # spmc_exchange_version
    only_own_ids: bool                # 4.10 LSP lookup: other destinations refused
    unknown_uuid_error: bool          # 4.4: INVALID_PARAMETERS for a UUID nobody has
    os_version: tuple[int, int, int]  # OPTEE_FFA_GET_OS_VERSION: major, minor, git SHA1 >> 32
    capabilities: int                 # OPTEE_FFA_EXCHANGE_CAPABILITIES w5 (real-firmware run)
    run_own_ids: tuple[int, ...]      # spmc_handle_run: endpoints that are OP-TEE itself
    mem_lend: bool                    # thread_spmc_msg_recv has FFA_MEM_LEND (4.4: default case)


OPTEE_RELEASES = {
    "4.10": OpteeRelease("4.10.0", tfa="lts-v2.14.6", own_version=V1_2, exchange_version=_version_1_2,
                         only_own_ids=True, unknown_uuid_error=False, os_version=(4, 10, 0x753AFBBE),
                         capabilities=0x7, run_own_ids=(OPTEE_ID, SPMC_ID), mem_lend=True),
    "4.4": OpteeRelease("4.4.0", tfa="v2.12.0", own_version=V1_1, exchange_version=_version_1_1,
                        only_own_ids=False, unknown_uuid_error=True, os_version=(4, 4, 0x8F645256),
                        capabilities=0x7, run_own_ids=(OPTEE_ID,), mem_lend=False),
}


@dataclass
class RxTx:
    """struct ffa_rxtx for the normal world: OP-TEE's `rx` is the caller's TX."""

    tx: int = 0             # the caller's RX (OP-TEE writes partition info there)
    rx: int = 0             # the caller's TX (descriptors)
    size: int = 0
    tx_is_mine: bool = True
    ffa_vers: int = V1_0    # spmc_init: "setting version 1.0 here"


@dataclass
class OpteeSpmc(Spmc):
    release: OpteeRelease
    spmc_id: int = SPMC_ID
    rxtx: RxTx = field(default_factory=RxTx)
    memory: OpteeMemory = field(default_factory=OpteeMemory)
    notif: Notifications = field(default_factory=Notifications)

    # SPMD framework message ------------------------------------------------------------
    def version_request(self, requested: int) -> int:
        answer, self.rxtx.ffa_vers = self.release.exchange_version(requested, self.rxtx.ffa_vers)
        return answer

    # thread_spmc_msg_recv ----------------------------------------------------------------
    def smc(self, xs: list[int], mem) -> list[int]:
        fid = xs[0] & MASK32
        handler = {
            FfaId.FFA_FEATURES: self._features, FfaId.FFA_RXTX_MAP: self._rxtx_map,
            FfaId.FFA_RXTX_MAP_64: self._rxtx_map, FfaId.FFA_RXTX_UNMAP: self._rxtx_unmap,
            FfaId.FFA_RX_RELEASE: self._rx_release, FfaId.FFA_PARTITION_INFO_GET: self._partition_info_get,
            FfaId.FFA_MSG_SEND_DIRECT_REQ: self._direct_req, FfaId.FFA_MSG_SEND_DIRECT_REQ_64: self._direct_req,
        }.get(fid)
        mem_op = {FfaId.FFA_MEM_SHARE: self.memory.mem_op, FfaId.FFA_MEM_SHARE_64: self.memory.mem_op,
                  FfaId.FFA_MEM_LEND: self.memory.mem_op, FfaId.FFA_MEM_LEND_64: self.memory.mem_op,
                  FfaId.FFA_MEM_RECLAIM: self.memory.reclaim,
                  FfaId.FFA_MEM_FRAG_TX: self.memory.frag_tx}.get(fid)
        if fid in (FfaId.FFA_MEM_LEND, FfaId.FFA_MEM_LEND_64) and not self.release.mem_lend:
            mem_op = None                 # 4.4: no FFA_MEM_LEND case, the default answers
        if handler is not None:
            return handler(xs, mem)
        if mem_op is not None:
            return mem_op(xs, mem, self.rxtx)
        if fid == FfaId.FFA_RUN:
            return self._run(xs)
        notif = {FfaId.FFA_NOTIFICATION_BITMAP_CREATE: self.notif.bitmap_create,
                 FfaId.FFA_NOTIFICATION_BITMAP_DESTROY: self.notif.bitmap_destroy,
                 FfaId.FFA_NOTIFICATION_BIND: self.notif.bind,
                 FfaId.FFA_NOTIFICATION_UNBIND: self.notif.unbind,
                 FfaId.FFA_NOTIFICATION_GET: self.notif.get,
                 FfaId.FFA_NOTIFICATION_INFO_GET: self.notif.info_get,
                 FfaId.FFA_NOTIFICATION_INFO_GET_64: self.notif.info_get}.get(fid)
        if notif is not None:
            return notif(xs)
        # FFA_ERROR from the normal world and the default case both answer NOT_SUPPORTED.
        return error(FfaError.NOT_SUPPORTED)

    def _run(self, xs):
        """spmc_handle_run: endpoint in w1[31:16]. OP-TEE's own IDs -> INVALID_PARAMETERS (no
        suspended thread is modelled); any other -> spmc_sp_resume_from_preempted(), a stub
        answering NOT_SUPPORTED without CFG_SECURE_PARTITION."""
        endpoint = (xs[1] & MASK32) >> 16
        code = FfaError.INVALID_PARAMETERS if endpoint in self.release.run_own_ids else FfaError.NOT_SUPPORTED
        return error(code)

    def _features(self, xs, mem):
        """handle_features: switch on the function ID in w1 (SMC32: TF-A cleared x1[63:32])."""
        w2 = FEATURES.get(xs[1] & MASK32)
        return error(FfaError.NOT_SUPPORTED) if w2 is None else args(FfaId.FFA_SUCCESS, 0, w2)

    def _rxtx_map(self, xs, mem):
        """spmc_handle_rxtx_map: pages in x3 ([63:6] MBZ), caller TX in x1, RX in x2."""
        pages = xs[3]
        if pages >> 6 or not pages:
            return error(FfaError.INVALID_PARAMETERS)
        if self.rxtx.size:
            return error(FfaError.DENIED)
        size = pages * PAGE
        if not (ns_mappable(xs[2], size) and ns_mappable(xs[1], size)):   # map_buf
            return error(FfaError.INVALID_PARAMETERS)
        self.rxtx = RxTx(tx=xs[2], rx=xs[1], size=size, ffa_vers=self.rxtx.ffa_vers)
        return success()

    def _rxtx_unmap(self, xs, mem):
        if not self.rxtx.size:
            return error(FfaError.INVALID_PARAMETERS)
        self.rxtx = RxTx(ffa_vers=self.rxtx.ffa_vers)
        return success()

    def _rx_release(self, xs, mem):
        if not self.rxtx.size or self.rxtx.tx_is_mine:
            return error(FfaError.DENIED)
        self.rxtx.tx_is_mine = True
        return success()

    def _partition_info_get(self, xs, mem):
        """spmc_handle_partition_info_get: UUID in w1-w4, count flag in w5 bit 0. Whatever the
        outcome, a full (not count-only) request leaves the RX buffer with the caller."""
        count_only = bool(xs[5] & COUNT_ONLY_FLAG)
        rx = self.rxtx
        uuid = tuple(x & MASK32 for x in xs[1:5])
        if not count_only and (not rx.size or not rx.tx_is_mine):
            result = error(FfaError.BUSY)
        else:
            ours = uuid in ((0, 0, 0, 0), OPTEE_UUID_WORDS)
            if not ours and self.release.unknown_uuid_error:
                result = error(FfaError.INVALID_PARAMETERS)
            else:
                count = int(ours)
                if count and not count_only and not mem.write(rx.tx, self._partition_entry()):
                    raise FirmwarePanic(f"OP-TEE writes partition information at {rx.tx:#x}, "
                                        "outside ffaemu's RAM (raise --ram-size)")
                size = 24 if not count_only and rx.ffa_vers >= V1_1 else 0
                result = args(FfaId.FFA_SUCCESS, 0, count, size)
        if not count_only:
            rx.tx_is_mine = False
        return result

    def _partition_entry(self) -> bytes:
        """spmc_fill_partition_entry: 8 bytes (FF-A 1.0, properties [2:0]) or 24 with the UUID."""
        v11 = self.rxtx.ffa_vers >= V1_1
        props = OPTEE_PROPS if v11 else OPTEE_PROPS & PROPS_V10_MASK
        entry = struct.pack("<HHI", OPTEE_ID, NB_CORE, props)
        return entry + (struct.pack("<4I", *OPTEE_UUID_WORDS) if v11 else b"")

    def _direct_req(self, xs, mem):
        """handle_direct_request: OP-TEE's LSP (0x8001) runs its protocol; the SPMC's own ID
        answers framework messages only; 4.10 refuses other IDs (no S-EL0 SPs built), 4.4
        lets OP-TEE answer any destination."""
        w1, w2, w3 = xs[1] & MASK32, xs[2] & MASK32, xs[3] & MASK32
        resp = FfaId.FFA_MSG_SEND_DIRECT_RESP_64 if FID_SMC64.get(xs[0]) else FfaId.FFA_MSG_SEND_DIRECT_RESP
        dst = w1 & 0xFFFF
        swapped = ((w1 >> 16) | (w1 << 16)) & MASK32
        if self.release.only_own_ids and dst != OPTEE_ID:
            if dst == SPMC_ID and w2 & MSG_FLAG_FRAMEWORK:
                return self._framework(resp, swapped, w2, w3)
            return error(FfaError.INVALID_PARAMETERS)
        if w2 & MSG_FLAG_FRAMEWORK:
            return self._framework(resp, swapped, w2, w3)
        if w3 & YIELDING_CALL_BIT:
            return self._yielding_call(resp, swapped, w3, xs)
        return self._blocking_call(resp, swapped, w3, xs)

    def _yielding_call(self, resp, swapped, service, xs):
        """handle_yielding_call -> __thread_std_smc_entry: OPTEE_FFA_YIELDING_CALL_WITH_ARG
        (cookie w5:w4) with a cookie OP-TEE does not hold -> TEE_ERROR_BAD_PARAMETERS; RESUME
        with no suspended thread -> BAD_PARAMETERS; any other yielding call -> FFA_DENIED, in w3
        of the direct response."""
        if service == YIELDING_CALL_WITH_ARG:
            cookie = ((xs[5] & MASK32) << 32) | (xs[4] & MASK32)
            if cookie in self.memory.shares:
                raise FirmwarePanic("OP-TEE's standard calls (tee_entry_std on a shared argument "
                                    "buffer) are not modelled by ffaemu")
            return args(resp, swapped, 0, TEE_ERROR_BAD_PARAMETERS)
        if service == YIELDING_CALL_RESUME:
            return args(resp, swapped, 0, TEE_ERROR_BAD_PARAMETERS)
        return args(resp, swapped, 0, FfaError.DENIED & MASK32)

    def _framework(self, resp, swapped, w2, w3):
        """handle_framework_direct_request: FFA_MSG_VERSION_REQ only (no virtualization)."""
        if w2 & MSG_TYPE_MASK != MSG_VERSION_REQ:
            return error(FfaError.NOT_SUPPORTED)
        return args(resp, swapped, MSG_FLAG_FRAMEWORK | MSG_VERSION_RESP, self.version_request(w3))

    def _blocking_call(self, resp, swapped, service, xs):
        """handle_blocking_call: OPTEE_FFA_GET_API_VERSION (0), GET_OS_VERSION (1),
        EXCHANGE_CAPABILITIES (2), UNREGISTER_SHM (3: nothing is registered here -> 0),
        ENABLE_ASYNC_NOTIF (5: spmc_enable_async_notif, bottom half < 64, only VM 0 has a
        notification bitmap without CFG_NS_VIRTUALIZATION)."""
        source = swapped & 0xFFFF
        notif_ok = (xs[4] & MASK32) < MAX_ASYNC_NOTIF_VALUE and source == 0
        answers = {
            0: (0, 1, 0, 0),                                   # OPTEE_FFA_VERSION_MAJOR/MINOR
            1: (0, *self.release.os_version),
            2: (0, 0, RPC_MAX_NUM_PARAMS, self.release.capabilities),
            3: (0, 0, 0, 0),
            5: (0, 0 if notif_ok else TEE_ERROR_BAD_PARAMETERS, 0, 0),
        }
        return args(resp, swapped, *answers.get(service, (0, TEE_ERROR_BAD_PARAMETERS, 0, 0)))
