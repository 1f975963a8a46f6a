"""TF-A lts-v2.14.6 with the EL3 SPMC (SPMD_SPM_AT_SEL2=0, SPMC_AT_EL3=1) on QEMU `virt`.

Release: TF-A lts-v2.14.6 (8fe2e465a435). Normal-world calls enter BL31's dispatch and
`spmd_ffa_smc_handler` -> `spmd_smc_handler` (bl31.Bl31 / bl31.Spmd: the SPMD's own answers
and checks), which hands what it forwards straight to `spmc_smc_handler`
(`spmd_smc_forward` with SPMC_AT_EL3: `El3Spmd` below; services/std_svc/spm/el3_spmc/
spmc_main.c, spmc_shared_mem.c). The EL3 SPMC writes the caller's registers itself with SMC_RETn:
only x0..x(n-1) change, so FFA_VERSION (SMC_RET1) and FFA_FEATURES (SMC_RET1 or 3) leave
the caller's x1-x17 as they were. Its errors are `spmc_ffa_error_return`:
SMC_RET8(FFA_ERROR, 0, int error_code) -> w2 sign-extended; the SPMD's own errors are
zero-extended. Direct requests go to the echo SPs (echo_sp) through
`spmd_smc_switch_state` with the SP's version (`spmc_smc_return`); the SPs share one
modelled secure context for x8-x17.

FFA_VERSION (spmd_smc_handler + ffa_version_handler): bit 31 -> the SPMD's
NOT_SUPPORTED (zero-extended, x1-x7 zero). Otherwise the SPMD records the request until
negotiation ends and sets `spmc_nwd_ffa_version` to its own 1.3; the EL3 SPMC stores the
request in the normal world's descriptor -- any value, at any time, no compatibility
check, no lock -- and answers 1.2 (FFA_VERSION_SPMC_MAJOR/MINOR) in x0 only.

Not modelled (FFA_ERROR(NOT_SUPPORTED) here): FFA_RUN, FFA_MEM_FRAG_TX/RX continuation,
FFA_MEM_RETRIEVE_REQ/RELINQUISH, EL3 logical partitions (qemu: MAX_EL3_LP_DESCS_COUNT 0).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ... import memmap
from ...arch.bits import MASK32, w
from ...ffa import memdesc
from ...ffa.abi import V1_0, V1_1, V1_2, V1_3, VERSION_MAJOR, VERSION_MINOR, FfaError, FfaId, id_name
from ...ffa.conv import Call
from ...trap import SMCCC_ARG_REGS
from .base import (PAGE, SECURE_ID_BIT, Answer, Buffers, FfaServices, Firmware, FirmwarePanic,
                   RefusedCall, Share)
from .bl31 import VERSION_MBZ_BIT, Bl31, Spmc, Spmd, apply_spmd_variants
from .echo_sp import ECHO_SPS, PROP_AARCH64, PROP_DIRECT_REQ2_RECV, PROP_DIRECT_REQ_RECV, EchoSp

F = FfaId
TFA_RELEASE = "lts-v2.14.6"
SVE_HINT = 1 << 16                     # FUNCID_SVE_HINT: masked before spmc_smc_handler
M64 = (1 << 64) - 1
SPMC_VERSION = V1_2                    # FFA_VERSION_SPMC_MAJOR/MINOR (spmc_main.c)
SPMD_VERSION = V1_3                    # FFA_VERSION_MAJOR/MINOR (include/services/ffa_svc.h)
FFA_SPMC_ID = 0x8000                   # FFA_SWD_ID_BASE (spmc.h)
NS_EP_ID = 0                           # ns_ep_desc[].ns_ep_id (initalize_ns_ep_descs)
PLATFORM_CORE_COUNT = 32               # plat/qemu/qemu/include/platform_def.h (AArch64)
PHY_ADDR_SPACE_SIZE = 1 << 32          # PLAT_PHY_ADDR_SPACE_SIZE (same file)
RXTX_PAGE_COUNT_MASK = 0x1F            # FFA_RXTX_PAGE_COUNT_MASK (spmc.h)
FIRST_HANDLE = 0xFFFF_FFC0             # spmc_shmem_obj_state.next_handle
DATASTORE_SIZE = 64 * 1024             # PLAT_SPMC_SHMEM_DATASTORE_SIZE (qemu_common.c)
MTD_V1_0_SIZE, MTD_SIZE = 32, 48       # sizeof(struct ffa_mtd_v1_0), sizeof(struct ffa_mtd)
PARTITION_INFO_V1_1_SIZE = 24          # sizeof(struct ffa_partition_info_v1_1)
PROPS_V1_0 = 0x7                       # FFA_PARTITION_INFO_GET_PROPERTIES_V1_0_MASK
FWK_MSG_BIT, FWK_MSG_MASK = 1 << 31, 0xFF      # FFA_FWK_MSG_BIT/MASK (ffa_svc.h)
RETRIEVE_NS_BIT = 1 << 1               # FFA_FEATURES_RET_REQ_NS_BIT

# ffa_features_handler, function IDs that succeed (SMC_RET1) for a normal-world caller.
FEATURES_NS = frozenset({
    F.FFA_ERROR, F.FFA_SUCCESS, F.FFA_INTERRUPT, F.FFA_SPM_ID_GET, F.FFA_ID_GET, F.FFA_FEATURES,
    F.FFA_VERSION, F.FFA_RX_RELEASE, F.FFA_MSG_SEND_DIRECT_REQ, F.FFA_MSG_SEND_DIRECT_REQ_64,
    F.FFA_MSG_SEND_DIRECT_REQ2, F.FFA_PARTITION_INFO_GET, F.FFA_RXTX_MAP, F.FFA_RXTX_MAP_64,
    F.FFA_RXTX_UNMAP, F.FFA_MEM_FRAG_TX, F.FFA_RUN,
    # "Supported features only from the normal world"
    F.FFA_MEM_SHARE, F.FFA_MEM_SHARE_64, F.FFA_MEM_LEND, F.FFA_MEM_LEND_64, F.FFA_MEM_RECLAIM,
    F.FFA_MEM_FRAG_RX,
})


@dataclass
class ShmemObj:
    """struct spmc_shmem_obj: a descriptor being received or complete."""

    size: int
    filled: int
    share: Share | None = None


@dataclass
class El3SpmcState:
    ns_version: int = 0                # ns_ep_desc.ffa_version: 0 until FFA_VERSION
    next_handle: int = FIRST_HANDLE
    objs: dict[int, ShmemObj] = field(default_factory=dict)


def el3_ret(*values: int) -> Answer:
    """SMC_RETn on the caller's context: x0..x(n-1) written, the rest preserved."""
    return Answer(dict(enumerate(values)))


def el3_error(code: FfaError) -> Answer:
    """spmc_ffa_error_return: SMC_RET8(FFA_ERROR, 0, error_code, 0, ...) with an `int`
    error code: x2 sign-extended."""
    return el3_ret(F.FFA_ERROR, 0, code & M64, 0, 0, 0, 0, 0)


class TfaEl3Spmc(Firmware):
    name = "tfa-el3-spmc"
    hypervisor_retrieve = True    # Hafnium / TF-A EL3 SPMC: see hyp_retrieve.py
    own_version = SPMC_VERSION
    # The first value is the default. Bug-zoo variants (BUGZOO.md), the fixed value first:
    # desc-version (6feaad6c6), direct-src (48fe24c50), req2 (bb9fc8c0b: the SPMD's
    # SMC_RET8 towards and from the EL3 SPMC, and its direct_req_smc_handler's gate),
    # spmd-src-check (5519f07cd: the SPMD's own source check; "absent" = TF-A <= v2.7.0).
    # FF-A marks unused result registers "Reserved (MBZ)" (TF-A's own SPMD writes
    # FFA_PARAM_MBZ there), but this SPMC answers with SMC_RET1/SMC_RET4 (FFA_VERSION,
    # FEATURES, RXTX_MAP/UNMAP, RX_RELEASE, RECLAIM; PARTITION_INFO_GET), which leave the
    # caller's x1-x7: a declared deviation for the register checker (ffa/smccc_rules.py).
    smccc_deviations = {"ffa-reserved-mbz": "spmc_main.c answers with SMC_RET1/SMC_RET4, "
                        "leaving the caller's x1-x7"}
    options = {"desc-version": ("compatible", "exact"), "direct-src": ("checked", "unchecked"),
               "req2": ("gated", "legacy"), "spmd-src-check": ("present", "absent")}

    def __init__(self, **kw):
        super().__init__(**kw)
        self.spmc = El3Spmc(self.ffa)
        self.spmc.desc_version_compatible = self.opts.get("desc-version") != "exact"
        self.spmc.direct_src_checked = self.opts.get("direct-src") != "unchecked"
        self.spmd = El3Spmd(self.spmc)
        apply_spmd_variants(self.spmd, self.opts)
        self.bl31 = Bl31(self.spmd)

    def handle(self, call: Call, mem) -> Answer:
        return self.bl31.smc(call.xs, mem)

    def negotiated_version(self) -> int:
        return self.spmc.el3.ns_version


class El3Spmd(Spmd):
    """The SPMD built with SPMC_AT_EL3: forwarded normal-world calls go straight to
    spmc_smc_handler (spmd_smc_forward), and FFA_VERSION is not a framework message."""

    sel2 = False

    def __init__(self, spmc: "El3Spmc"):
        super().__init__(TFA_RELEASE, spmc)
        spmc.spmd = self

    def _version(self, requested: int, xs: list[int] | None = None) -> Answer:
        """spmd_smc_handler FFA_VERSION with is_spmc_at_el3(): bit 31 is the SPMD's
        NOT_SUPPORTED; otherwise the request is recorded until negotiation ends,
        spmc_nwd_ffa_version = MAKE_FFA_VERSION(1, 3) and the EL3 SPMC answers."""
        if requested & VERSION_MBZ_BIT:
            return super()._version(requested)
        if not self.nonsecure_version_negotiated:
            self.nonsecure_ffa_version = requested
        self.spmc_nwd_ffa_version = SPMD_VERSION
        return self.spmc.version(requested)

    def _forward(self, fid: int, xs: list[int], mem) -> Answer:
        return self.spmc.handle(fid, xs, mem)


class El3Spmc(Spmc):
    """services/std_svc/spm/el3_spmc: spmc_smc_handler for normal-world calls, with the
    echo SPs behind it."""

    spmc_id = FFA_SPMC_ID              # spmc_populate_attrs
    # tfa-el3-spmc:desc-version: descriptors for any version compatible with 1.1
    # (spmc_compatible_version); an older release tested `ffa_version == 1.1` (6feaad6c6).
    desc_version_compatible = True
    # tfa-el3-spmc:direct-src: 48fe24c50 ("fix(el3-spm): improve direct messaging
    # validation", 2022-11-15) refuses a normal-world request with a secure source ID and
    # checks a response's destination against the request's origin (dir_req_origin_id);
    # "unchecked" is TF-A v2.7.0's direct_req/direct_resp_smc_handler. At lts-v2.14.6 the
    # SPMD refuses such a source first (spmd_smc_handler, 5519f07cd): only with
    # spmd-src-check=absent does a request reach this check.
    direct_src_checked = True

    def __init__(self, state: FfaServices, sps: tuple[EchoSp, ...] = ECHO_SPS):
        self.sps = sps
        self.ffa = state                 # buffers[NS_EP_ID] and shares by handle
        self.el3 = El3SpmcState()
        self.spmd: Spmd | None = None    # set by El3Spmd: the path to the SPs

    def version(self, requested: int) -> Answer:
        """ffa_version_handler: `ns_ep->ffa_version = requested_version` (no check, no
        lock), SMC_RET1(FFA_VERSION_SPMC_MAJOR/MINOR = 1.2)."""
        self.el3.ns_version = requested
        return el3_ret(SPMC_VERSION)

    def handle(self, fid: int, xs: list[int], mem) -> Answer:
        """spmc_smc_handler: its `default:` is "Unsupported FF-A call"."""
        xs = (list(xs) + [0] * SMCCC_ARG_REGS)[:SMCCC_ARG_REGS]
        handler = _HANDLERS.get(fid & ~SVE_HINT)
        try:
            if handler is None:
                raise RefusedCall(FfaError.NOT_SUPPORTED)
            return handler(self, fid, xs, mem)
        except RefusedCall as refused:
            return el3_error(refused.code)

    def _features(self, fid: int, xs: list[int], mem) -> Answer:
        """ffa_features_handler: feature IDs (bit 31 clear) are not supported; for
        FFA_MEM_RETRIEVE_REQ a normal-world caller must not set the NS bit; any other
        function needs input properties 0. Success is SMC_RET1 (x1-x17 preserved)."""
        asked, prop = w(xs[1]), w(xs[2])
        if not asked >> 31:
            raise RefusedCall(FfaError.NOT_SUPPORTED)
        if asked in (F.FFA_MEM_RETRIEVE_REQ, F.FFA_MEM_RETRIEVE_REQ_64):
            if prop & RETRIEVE_NS_BIT:   # ffa_features_retrieve_request
                raise RefusedCall(FfaError.NOT_SUPPORTED)
            return el3_ret(F.FFA_SUCCESS)
        if prop or asked not in FEATURES_NS:
            raise RefusedCall(FfaError.NOT_SUPPORTED)
        return el3_ret(F.FFA_SUCCESS)

    # RX/TX ----------------------------------------------------------------------------
    def _rxtx_map(self, fid: int, xs: list[int], mem) -> Answer:
        """rxtx_map_handler: x1/x2 as addresses (an SMC32 call's upper halves were
        cleared by std_svc_smc_handler), page count x3[4:0]; mmap_add_dynamic_region
        refuses an unaligned base (-EINVAL), a range beyond PLAT_PHY_ADDR_SPACE_SIZE
        (-ERANGE) and TX/RX overlapping with other attributes (-EPERM): INVALID_PARAMETERS.
        It does not check that memory exists there: a later access faults (FirmwarePanic)."""
        tx, rx, pages = xs[1], xs[2], xs[3] & RXTX_PAGE_COUNT_MASK
        size = pages * PAGE
        if not tx or not rx or tx == rx or not size:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if NS_EP_ID in self.ffa.buffers:
            raise RefusedCall(FfaError.DENIED)
        if tx % PAGE or rx % PAGE or abs(tx - rx) < size \
                or max(tx, rx) + size > PHY_ADDR_SPACE_SIZE \
                or not (memmap.normal_world_owns(tx, size) and memmap.normal_world_owns(rx, size)):
            # ffaemu's harness memory is EL3's own here: refused as a conflicting mapping
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        self.ffa.buffers[NS_EP_ID] = Buffers(tx, rx, pages)
        return el3_ret(F.FFA_SUCCESS)

    def _rxtx_unmap(self, fid: int, xs: list[int], mem) -> Answer:
        """rxtx_unmap_handler: x1 (all 64 bits) must be zero; nothing mapped is
        INVALID_PARAMETERS."""
        if xs[1] or self.ffa.buffers.pop(NS_EP_ID, None) is None:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        return el3_ret(F.FFA_SUCCESS)

    def _rx_release(self, fid: int, xs: list[int], mem) -> Answer:
        """rx_release_handler: a mailbox that is not full is DENIED."""
        buf = self.ffa.buffers.get(NS_EP_ID)
        if buf is None or not buf.rx_full:
            raise RefusedCall(FfaError.DENIED)
        buf.rx_full = False
        return el3_ret(F.FFA_SUCCESS)

    # Partitions -------------------------------------------------------------------------
    def _properties(self, sp: EchoSp) -> int:
        """partition_info_get_populate_properties: the manifest's messaging bits plus
        the AArch64 execution state (bit 8)."""
        return sp.methods | PROP_AARCH64

    def _partition_info_get(self, fid: int, xs: list[int], mem) -> Answer:
        """partition_info_get_handler: UUID = (uint32_t)x1..x4, count flag x5[0];
        SMC_RET4(FFA_SUCCESS, 0, count, size) with size 0 for count-only and for a v1.0
        caller (only the v1.1 branch sets it)."""
        uuid = b"".join(w(xs[n]).to_bytes(4, "little") for n in range(1, 5))
        null = uuid == bytes(16)
        sps = [sp for sp in self.sps if null or sp.uuid == uuid]
        if not sps:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if xs[5] & 1:
            return el3_ret(F.FFA_SUCCESS, 0, len(sps), 0)
        buf = self.ffa.buffers.get(NS_EP_ID)
        if buf is None or buf.rx_full:                   # no RX buffer is BUSY too
            raise RefusedCall(FfaError.BUSY)
        if self.el3.ns_version == V1_0:
            size = 0
            blob = b"".join(struct.pack("<HHI", sp.id, PLATFORM_CORE_COUNT,
                                        self._properties(sp) & PROPS_V1_0) for sp in sps)
        else:
            size = PARTITION_INFO_V1_1_SIZE
            blob = b"".join(struct.pack("<HHI16s", sp.id, PLATFORM_CORE_COUNT, self._properties(sp),
                                        sp.uuid if null else bytes(16)) for sp in sps)
        if not mem.write(buf.rx, bytes(buf.pages * PAGE)):  # "Zero the RX buffer"
            raise FirmwarePanic(f"EL3 SPMC: data abort writing the RX buffer at {buf.rx:#x}")
        mem.write(buf.rx, blob)
        buf.rx_full = True
        return el3_ret(F.FFA_SUCCESS, 0, len(sps), size)

    # Direct messages ------------------------------------------------------------------
    def _direct_req(self, fid: int, xs: list[int], mem) -> Answer:
        """direct_req_smc_handler, then spmc_smc_return -> spmd_smc_switch_state to the
        SP and its answer back through spmd_smc_handler with the SP's version."""
        src, dst = (xs[1] >> 16) & 0xFFFF, xs[1] & 0xFFFF
        req2 = fid == F.FFA_MSG_SEND_DIRECT_REQ2
        if req2 and self.el3.ns_version < V1_2 and not self.spmd.req2_legacy:   # bb9fc8c0b
            raise RefusedCall(FfaError.NOT_SUPPORTED)
        if not req2 and not _valid_arg2(xs[2]):
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if self.direct_src_checked and src & SECURE_ID_BIT:   # "Validate Sender ... normal world"
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        sp = next((p for p in self.sps if p.id == dst), None)
        if sp is None:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if not sp.methods & (PROP_DIRECT_REQ2_RECV if req2 else PROP_DIRECT_REQ_RECV):
            raise RefusedCall(FfaError.DENIED)            # direct_msg_receivable
        answer = sp.respond(fid, self.spmd._to_spmc(fid, xs, sp.version), self.ffa.deliveries)
        self.spmd.spmc_x8_x17 = answer[8:SMCCC_ARG_REGS]
        self._check_response(sp, answer, origin=src)
        return self.spmd._relay(answer, sp.version)

    def _check_response(self, sp: EchoSp, answer: list[int], origin: int) -> None:
        """direct_resp_smc_handler on the SP's response. 48fe24c50: the destination must
        be a normal-world ID, the SPMC or a known SP (direct_msg_validate_dst_id) and the
        request's origin (dir_req_origin_id, else DENIED). v2.7.0: a secure destination
        other than FFA_SPMC_ID is INVALID_PARAMETERS. Either error goes to the SP
        (spmc_ffa_error_return on its context): the normal world's request never returns,
        which ffaemu stops as a hang. A response to the SPMC ID is a synchronous exit with
        no entry in progress: not modelled."""
        dst = answer[1] & 0xFFFF
        if self.direct_src_checked:
            known = not dst & SECURE_ID_BIT or dst == FFA_SPMC_ID or any(p.id == dst for p in self.sps)
            refused = None if known and dst == origin else \
                FfaError.INVALID_PARAMETERS if not known else FfaError.DENIED
        else:
            refused = FfaError.INVALID_PARAMETERS if dst & SECURE_ID_BIT and dst != FFA_SPMC_ID else None
        if refused is not None:
            raise FirmwarePanic(f"EL3 SPMC refused SP {sp.id:#06x}'s {id_name(answer[0])} to {dst:#06x} "
                                f"with {refused.name} (direct_resp_smc_handler): the normal world's "
                                "request never completes, the system hangs")
        if dst == FFA_SPMC_ID:
            raise FirmwarePanic(f"SP {sp.id:#06x} answered the SPMC ID {dst:#06x} with no synchronous "
                                "entry in progress (spmc_sp_synchronous_exit): not modelled by ffaemu")

    def _direct_resp(self, fid: int, xs: list[int], mem) -> Answer:
        """direct_resp_smc_handler: arg2 is checked, then "Direct Response not supported
        from Normal World": INVALID_PARAMETERS either way."""
        raise RefusedCall(FfaError.INVALID_PARAMETERS)

    def _ffa_error(self, fid: int, xs: list[int], mem) -> Answer:
        """ffa_error_handler: FFA_ERROR from the normal world is NOT_SUPPORTED."""
        raise RefusedCall(FfaError.NOT_SUPPORTED)

    # Memory sharing (spmc_shared_mem.c) ----------------------------------------------
    def _mem_send(self, fid: int, xs: list[int], mem) -> Answer:
        """spmc_ffa_mem_send(x1 total length as 64 bits, w2 fragment length, x3 address
        as 64 bits, w4 page count) and spmc_ffa_fill_desc. Handles come from
        `next_handle++`, starting at 0xffffffc0 "so top 32 bits are needed quickly"."""
        total, fragment, address, pages = xs[1], w(xs[2]), xs[3], w(xs[4])
        version = self.el3.ns_version
        if address or pages:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if version == V1_0:
            min_size = MTD_V1_0_SIZE
        elif _v1_1_layout(version, self.desc_version_compatible):
            min_size = MTD_SIZE
        else:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)   # "bad FF-A version"
        if fragment < min_size:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if total % 16 or total > DATASTORE_SIZE:         # spmc_shmem_obj_alloc fails
            raise RefusedCall(FfaError.NO_MEMORY)
        buf = self.ffa.buffers.get(NS_EP_ID)
        if buf is None or fragment > buf.pages * PAGE or fragment > total:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        desc = mem.read(buf.tx, fragment)
        if desc is None:
            raise FirmwarePanic(f"EL3 SPMC: data abort reading the TX buffer at {buf.tx:#x}")
        sender = int.from_bytes(desc[:2], "little")
        if sender & SECURE_ID_BIT:
            raise RefusedCall(FfaError.DENIED)            # "Invalid sender ID"
        handle = self.el3.next_handle
        self.el3.next_handle += 1
        if fragment != total:                            # more fragments to come
            self.el3.objs[handle] = ShmemObj(total, fragment)
            return el3_ret(F.FFA_MEM_FRAG_RX, handle & MASK32, handle >> 32, fragment, sender << 16, 0, 0, 0)
        share = self._check_descriptor(desc, version, mem)
        self.el3.objs[handle] = ShmemObj(total, total, share)
        self.ffa.shares[handle] = share
        return el3_ret(F.FFA_SUCCESS, 0, handle & MASK32, handle >> 32, 0, 0, 0, 0)

    def _check_descriptor(self, desc: bytes, version: int, mem) -> Share:
        """spmc_validate_mtd_start, spmc_shmem_check_obj and spmc_shmem_check_state_obj,
        as far as modelled: a well-formed descriptor; a receiver with a secure ID must be a
        known SP, a normal-world one is not checked ("the Hypervisor will have validated
        these"); an unaligned range address is only a warning; no range may overlap a
        complete transaction still in flight. Memory is not touched until a retrieve."""
        try:
            region = memdesc.parse(desc, version == V1_0)
        except ValueError:
            raise RefusedCall(FfaError.INVALID_PARAMETERS) from None
        known = {sp.id for sp in self.sps}
        if any(r & SECURE_ID_BIT and r not in known for r in region.receivers):
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if any(_overlap(a, b) for obj in self.el3.objs.values() if obj.share
               for a in region.ranges for b in obj.share.ranges):
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        return Share(region.sender, region.receivers, region.ranges, lend=False)

    def _mem_reclaim(self, fid: int, xs: list[int], mem) -> Answer:
        """spmc_ffa_mem_reclaim(w1 low, w2 high, w3 flags): flags MBZ; unknown or
        incomplete handles are INVALID_PARAMETERS; success is SMC_RET1."""
        handle = w(xs[1]) | (w(xs[2]) << 32)
        obj = self.el3.objs.get(handle)
        if w(xs[3]) or obj is None or obj.filled != obj.size:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        del self.el3.objs[handle]
        self.ffa.shares.pop(handle, None)
        return el3_ret(F.FFA_SUCCESS)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """overlapping_memory_regions for two (address, pages) ranges."""
    return a[0] < b[0] + b[1] * PAGE and b[0] < a[0] + a[1] * PAGE


def _v1_1_layout(version: int, compatible: bool) -> bool:
    """spmc_compatible_version(version, 1, 1): major 1, minor >= 1, bit 31 clear."""
    if not compatible:
        return version == V1_1
    return VERSION_MAJOR.get(version) == 1 and VERSION_MINOR.get(version) >= 1 and not version >> 31


def _valid_arg2(x2: int) -> bool:
    """direct_msg_validate_arg2 (64-bit x2): a framework message may only carry its
    function number; a partition message needs x2 == 0."""
    if x2 & FWK_MSG_BIT:
        return not x2 & ~(FWK_MSG_MASK | FWK_MSG_BIT)
    return x2 == 0


E = El3Spmc
_HANDLERS = {
    F.FFA_FEATURES: E._features,
    F.FFA_MSG_SEND_DIRECT_REQ: E._direct_req, F.FFA_MSG_SEND_DIRECT_REQ_64: E._direct_req,
    F.FFA_MSG_SEND_DIRECT_REQ2: E._direct_req,
    F.FFA_MSG_SEND_DIRECT_RESP: E._direct_resp, F.FFA_MSG_SEND_DIRECT_RESP_64: E._direct_resp,
    F.FFA_MSG_SEND_DIRECT_RESP2: E._direct_resp,
    F.FFA_RXTX_MAP: E._rxtx_map, F.FFA_RXTX_MAP_64: E._rxtx_map,
    F.FFA_RXTX_UNMAP: E._rxtx_unmap,
    F.FFA_PARTITION_INFO_GET: E._partition_info_get,
    F.FFA_RX_RELEASE: E._rx_release,
    F.FFA_ERROR: E._ffa_error,
    F.FFA_MEM_SHARE: E._mem_send, F.FFA_MEM_SHARE_64: E._mem_send,
    F.FFA_MEM_LEND: E._mem_send, F.FFA_MEM_LEND_64: E._mem_send,
    F.FFA_MEM_RECLAIM: E._mem_reclaim,
}
