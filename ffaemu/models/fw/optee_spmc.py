"""OP-TEE as the S-EL1 SPMC (CFG_CORE_SEL1_SPMC=y, QEMU `vexpress-qemu_armv8a`), as calls the
TF-A SPMD forwards reach it. Follows OP-TEE 4.10.0 (753afbbee168) and 4.4.0 (8f645256efc0):
core/arch/arm/kernel/thread_spmc.c (thread_spmc_msg_recv and the handlers it calls),
core/arch/arm/mm/mobj_ffa.c (handles). Held to the real images by tests/test_fwdiff.py.
Release differences are the data in `OPTEE_RELEASES`.

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
from ...trap import SMCCC_ARG_REGS
from .base import FirmwarePanic
from .bl31 import Spmc

PAGE = 0x1000
SPMC_ID = 0x8000                    # qemu_spmc_optee.dts spmc_id (SPMD manifest)
OPTEE_ID = 0x8001                   # spmc_init: find_unused_sp_id() after the SPMC's ID
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
TEE_ERROR_BAD_PARAMETERS = 0xFFFF0006
RPC_MAX_NUM_PARAMS = 4              # THREAD_RPC_MAX_NUM_PARAMS
HANDLE_NON_SECURE_BIT = 1 << 44     # FFA_MEMORY_HANDLE_NON_SECURE_BIT
MAX_SHM_COUNT = 64                  # SPMC_CORE_SEL1_MAX_SHM_COUNT
NORMAL_MEM_REG_ATTR = 0x2F          # FFA_NORMAL_MEM_REG_ATTR
MEM_ACC_RW = 1 << 1                 # FFA_MEM_ACC_RW
# Non-secure RAM as OP-TEE knows it: the DT memory node of QEMU virt with -m 1057
# (core_pbuf_is(CORE_MEM_NON_SEC)); real-firmware run: 0x80000000 maps, 0x0e100000 does not.
NS_RAM = (0x4000_0000, 0x4000_0000 + (1057 << 20))

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
    exchange_version: object          # spmc_exchange_version
    only_own_ids: bool                # 4.10 LSP lookup: other destinations refused
    unknown_uuid_error: bool          # 4.4: INVALID_PARAMETERS for a UUID nobody has
    os_version: tuple[int, int, int]  # OPTEE_FFA_GET_OS_VERSION: major, minor, git SHA1 >> 32
    capabilities: int                 # OPTEE_FFA_EXCHANGE_CAPABILITIES w5 (real-firmware run)
    run_own_ids: tuple[int, ...]      # spmc_handle_run: endpoints that are OP-TEE itself
    mem_lend: bool                    # thread_spmc_msg_recv has FFA_MEM_LEND (4.4: default case)


OPTEE_RELEASES = {
    "4.10": OpteeRelease("4.10.0", "lts-v2.14.6", _version_1_2, True, False, (4, 10, 0x753AFBBE), 0x7,
                          (OPTEE_ID, SPMC_ID), True),
    "4.4": OpteeRelease("4.4.0", "v2.12.0", _version_1_1, False, True, (4, 4, 0x8F645256), 0x7, (OPTEE_ID,), False),
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
    shares: dict[int, int] = field(default_factory=dict)    # cookie -> pages

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
            FfaId.FFA_MEM_SHARE: self._mem_op, FfaId.FFA_MEM_SHARE_64: self._mem_op,
            FfaId.FFA_MEM_LEND: self._mem_op, FfaId.FFA_MEM_LEND_64: self._mem_op,
            FfaId.FFA_MEM_RECLAIM: self._mem_reclaim, FfaId.FFA_MEM_FRAG_TX: self._mem_frag_tx,
        }.get(fid)
        if fid in (FfaId.FFA_MEM_LEND, FfaId.FFA_MEM_LEND_64) and not self.release.mem_lend:
            handler = None
        if handler is not None:
            return handler(xs, mem)
        if fid == FfaId.FFA_RUN:
            return self._run(xs)
        if fid in (FfaId.FFA_NOTIFICATION_BITMAP_CREATE, FfaId.FFA_NOTIFICATION_BITMAP_DESTROY,
                   FfaId.FFA_NOTIFICATION_BIND, FfaId.FFA_NOTIFICATION_UNBIND, FfaId.FFA_NOTIFICATION_GET,
                   FfaId.FFA_NOTIFICATION_INFO_GET, FfaId.FFA_NOTIFICATION_INFO_GET_64):
            raise FirmwarePanic(f"OP-TEE's {FfaId(fid).name} is not modelled by ffaemu")
        # FFA_ERROR from the normal world and the default case both answer NOT_SUPPORTED.
        return _error(FfaError.NOT_SUPPORTED)

    def _run(self, xs):
        """spmc_handle_run: endpoint in w1[31:16]. OP-TEE's own IDs -> INVALID_PARAMETERS (no
        suspended thread is modelled); any other -> spmc_sp_resume_from_preempted(), a stub
        answering NOT_SUPPORTED without CFG_SECURE_PARTITION."""
        endpoint = (xs[1] & MASK32) >> 16
        code = FfaError.INVALID_PARAMETERS if endpoint in self.release.run_own_ids else FfaError.NOT_SUPPORTED
        return _error(code)

    def _features(self, xs, mem):
        """handle_features: switch on the function ID in w1 (SMC32: TF-A cleared x1[63:32])."""
        w2 = FEATURES.get(xs[1] & MASK32)
        return _error(FfaError.NOT_SUPPORTED) if w2 is None else _args(FfaId.FFA_SUCCESS, 0, w2)

    def _rxtx_map(self, xs, mem):
        """spmc_handle_rxtx_map: pages in x3 ([63:6] MBZ), caller TX in x1, RX in x2."""
        pages = xs[3]
        if pages >> 6 or not pages:
            return _error(FfaError.INVALID_PARAMETERS)
        if self.rxtx.size:
            return _error(FfaError.DENIED)
        size = pages * PAGE
        if not (_ns_mappable(xs[2], size) and _ns_mappable(xs[1], size)):   # map_buf
            return _error(FfaError.INVALID_PARAMETERS)
        self.rxtx = RxTx(tx=xs[2], rx=xs[1], size=size, ffa_vers=self.rxtx.ffa_vers)
        return _success()

    def _rxtx_unmap(self, xs, mem):
        if not self.rxtx.size:
            return _error(FfaError.INVALID_PARAMETERS)
        self.rxtx = RxTx(ffa_vers=self.rxtx.ffa_vers)
        return _success()

    def _rx_release(self, xs, mem):
        if not self.rxtx.size or self.rxtx.tx_is_mine:
            return _error(FfaError.DENIED)
        self.rxtx.tx_is_mine = True
        return _success()

    def _partition_info_get(self, xs, mem):
        """spmc_handle_partition_info_get: UUID in w1-w4, count flag in w5 bit 0. Whatever the
        outcome, a full (not count-only) request leaves the RX buffer with the caller."""
        count_only = bool(xs[5] & COUNT_ONLY_FLAG)
        rx = self.rxtx
        uuid = tuple(x & MASK32 for x in xs[1:5])
        if not count_only and (not rx.size or not rx.tx_is_mine):
            result = _error(FfaError.BUSY)
        else:
            ours = uuid in ((0, 0, 0, 0), OPTEE_UUID_WORDS)
            if not ours and self.release.unknown_uuid_error:
                result = _error(FfaError.INVALID_PARAMETERS)
            else:
                count = int(ours)
                if count and not count_only:
                    mem.write(rx.tx, self._partition_entry())
                size = 24 if not count_only and rx.ffa_vers >= V1_1 else 0
                result = _args(FfaId.FFA_SUCCESS, 0, count, size)
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
            return _error(FfaError.INVALID_PARAMETERS)
        if w2 & MSG_FLAG_FRAMEWORK:
            return self._framework(resp, swapped, w2, w3)
        if w3 & YIELDING_CALL_BIT:
            raise FirmwarePanic("OP-TEE's yielding calls (thread_alloc_and_run) are not modelled by ffaemu")
        return self._blocking_call(resp, swapped, w3)

    def _framework(self, resp, swapped, w2, w3):
        """handle_framework_direct_request: FFA_MSG_VERSION_REQ only (no virtualization)."""
        if w2 & MSG_TYPE_MASK != MSG_VERSION_REQ:
            return _error(FfaError.NOT_SUPPORTED)
        return _args(resp, swapped, MSG_FLAG_FRAMEWORK | MSG_VERSION_RESP, self.version_request(w3))

    def _blocking_call(self, resp, swapped, service):
        """handle_blocking_call: OPTEE_FFA_GET_API_VERSION (0), GET_OS_VERSION (1),
        EXCHANGE_CAPABILITIES (2), UNREGISTER_SHM (3: nothing registered here -> 0)."""
        answers = {
            0: (0, 1, 0, 0),                                   # OPTEE_FFA_VERSION_MAJOR/MINOR
            1: (0, *self.release.os_version),
            2: (0, 0, RPC_MAX_NUM_PARAMS, self.release.capabilities),
            3: (0, 0, 0, 0),
        }
        return _args(resp, swapped, *answers.get(service, (0, TEE_ERROR_BAD_PARAMETERS, 0, 0)))

    # Memory sharing -------------------------------------------------------------------
    def _mem_op(self, xs, mem):
        """handle_mem_op (FFA_MEM_SHARE/LEND): x5-x7 MBZ in full, descriptor in the caller's
        TX (address 0) or in a buffer at x3 of w4 pages."""
        tot_len, frag_len, addr, page_count = (xs[1] & MASK32, xs[2] & MASK32, xs[3],
                                                xs[4] & MASK32)
        if xs[5] or xs[6] or xs[7] or frag_len > tot_len:
            return _error(FfaError.INVALID_PARAMETERS)
        if not FID_SMC64.get(xs[0]):
            addr &= MASK32
        share = (xs[0] & MASK32) in (FfaId.FFA_MEM_SHARE, FfaId.FFA_MEM_SHARE_64)
        if not addr:
            if page_count:
                return _error(FfaError.INVALID_PARAMETERS)
            rc = self._mem_op_rxbuf(share, tot_len, frag_len, mem)
        else:
            rc = self._mem_op_tmem(share, addr, tot_len, frag_len, page_count, mem)
        if isinstance(rc, FfaError):
            return _error(rc)
        return _args(FfaId.FFA_SUCCESS, 0, rc & MASK32, rc >> 32)

    def _mem_op_rxbuf(self, share, tot_len, frag_len, mem):
        rx = self.rxtx
        if not rx.rx or frag_len > rx.size:
            return FfaError.DENIED
        # spmc_read_mem_transaction(ffa_vers, buf, blen, frag_len, tot_len): the lengths are
        # passed swapped, so a fragment shorter than the total is INVALID_PARAMETERS.
        return self._add_mem_op(share, mem.read(rx.rx, rx.size) or b"", rx.size, frag_len, tot_len)

    def _mem_op_tmem(self, share, addr, tot_len, frag_len, page_count, mem):
        length = page_count * PAGE
        offs = addr % PAGE
        if not _ns(addr, length) or length < frag_len or length - offs < frag_len:
            return FfaError.INVALID_PARAMETERS
        if offs:     # core_mmu_map_contiguous_pages needs a page-aligned address
            return FfaError.INVALID_PARAMETERS
        return self._add_mem_op(share, mem.read(addr, length) or b"", length, frag_len, tot_len)

    def _add_mem_op(self, share, buf, blen, tot_len, frag_len):
        """spmc_read_mem_transaction + add_mem_op (with tot/frag as the caller passes them)."""
        trans = _read_transaction(self.rxtx.ffa_vers, buf, blen, tot_len, frag_len)
        if isinstance(trans, FfaError):
            return trans
        mem_reg_attr, tag, handle, count, size, offs = trans
        # add_mem_op(share, trans, mm, buf, blen, flen): the caller's total and fragment
        # lengths, i.e. this function's tot_len/frag_len swapped back.
        flen, blen2 = tot_len, frag_len
        if mem_reg_attr != (NORMAL_MEM_REG_ATTR if share else 0):
            return FfaError.INVALID_PARAMETERS
        region_offs = None
        for n in range(count):
            ep, perm, _, roffs = struct.unpack_from("<HBBI", buf, offs + size * n)
            if ep == OPTEE_ID:
                region_offs = roffs if perm == MEM_ACC_RW else None
                break
        if region_offs is None or region_offs + 16 > flen or region_offs % 8:
            return FfaError.INVALID_PARAMETERS
        page_total, region_count = struct.unpack_from("<II", buf, region_offs)
        ranges_offs = region_offs + 16
        if not page_total or not region_count or region_count * 16 + ranges_offs > blen2:
            return FfaError.INVALID_PARAMETERS
        if handle or (not share and tag):
            raise FirmwarePanic("OP-TEE shares with a caller-chosen handle or a protected-memory "
                                "use case (tag) are not modelled by ffaemu")
        cookie = next((i for i in range(MAX_SHM_COUNT) if i | HANDLE_NON_SECURE_BIT not in self.shares),
                      None)
        if cookie is None:
            return FfaError.NO_MEMORY
        available = min((flen - ranges_offs) // 16, region_count)
        pages = 0
        for n in range(available):
            address, count_n = struct.unpack_from("<QI", buf, ranges_offs + 16 * n)
            if pages + count_n > page_total or not _ns(address, count_n * PAGE):
                return FfaError.INVALID_PARAMETERS         # mobj_ffa_add_pages_at
            pages += count_n
        if available != region_count or pages != page_total:
            return FfaError.INVALID_PARAMETERS
        cookie |= HANDLE_NON_SECURE_BIT
        self.shares[cookie] = page_total
        return cookie

    def _mem_reclaim(self, xs, mem):
        """handle_mem_reclaim: x3-x7 MBZ (x5-x7 in full); handle = w2:w1."""
        if any(xs[3:8]):
            return _error(FfaError.INVALID_PARAMETERS)
        cookie = ((xs[2] & MASK32) << 32) | (xs[1] & MASK32)
        if self.shares.pop(cookie, None) is None:
            return _error(FfaError.INVALID_PARAMETERS)      # TEE_ERROR_ITEM_NOT_FOUND
        return _success()

    def _mem_frag_tx(self, xs, mem):
        """handle_mem_frag_tx: no fragmented transaction can be open (see _mem_op_rxbuf)."""
        return _error(FfaError.INVALID_PARAMETERS)


def _read_transaction(ffa_vers, buf, blen, tot_len, frag_len):
    """spmc_read_mem_transaction: header fields and bounds (FF-A 1.0 or 1.1+ layout)."""
    if frag_len > tot_len or frag_len > blen or len(buf) < 48:
        return FfaError.INVALID_PARAMETERS
    if ffa_vers >= V1_1:
        if frag_len < 48:
            return FfaError.INVALID_PARAMETERS
        sender, attr, flags, handle, tag, size, count, offs = struct.unpack_from("<HHIQQIII", buf)
    else:
        if frag_len < 32:
            return FfaError.INVALID_PARAMETERS
        sender, attr, flags, handle, tag, count = struct.unpack_from("<HBxIQQ4xI", buf)
        size, offs = 16, 32
    if attr > 0xFF or flags > 0xFF or size > 0xFF or count > 0xFF or offs > 0xFFFF or offs % 16:
        return FfaError.INVALID_PARAMETERS
    if offs + size * count > frag_len:
        return FfaError.INVALID_PARAMETERS
    return attr, tag, handle, count, size, offs


def _ns(address: int, size: int) -> bool:
    """core_pbuf_is(CORE_MEM_NON_SEC, pa, size)."""
    return NS_RAM[0] <= address and address + size <= NS_RAM[1] and size > 0


def _ns_mappable(address: int, size: int) -> bool:
    """map_buf: Non-secure and page-aligned (core_mmu_map_contiguous_pages)."""
    return _ns(address, size) and not address % PAGE


def _args(fid: int, w1: int = 0, w2: int = 0, w3: int = 0, w4: int = 0, w5: int = 0) -> list[int]:
    """spmc_set_args: w0-w5 zero-extended, every other register of the struct zero."""
    return [v & MASK32 for v in (fid, w1, w2, w3, w4, w5)] + [0] * (SMCCC_ARG_REGS - 6)


def _error(code: FfaError) -> list[int]:
    return _args(FfaId.FFA_ERROR, 0, code & MASK32)


def _success() -> list[int]:
    return _args(FfaId.FFA_SUCCESS)
