"""Hafnium v2.15.0 as the S-EL2 SPMC, for the calls TF-A's SPMD forwards from the
normal world (the "other world" VM, ID 0, at Hafnium's physical FF-A instance).

Release: TF-Hafnium/hafnium tag v2.15.0 (the newest release tag in the mirror; lts-v2.14.1
is a maintenance release of the older line), FFA_VERSION_COMPILED = v1.3
(`inc/vmapi/hf/ffa.h`). Entry: `smc_handler_from_nwd` -> `hvc_smc_handler` -> `ffa_handler`
(`src/arch/aarch64/hypervisor/handler.c`): a call `ffa_handler` does not know is
FFA_ERROR(NOT_SUPPORTED); any call it handles except FFA_VERSION/FFA_INTERRUPT sets the
other world's `ffa_version_negotiated`. Values are `uint64_t` fields of `struct ffa_value`;
32-bit results are zero-extended (`ffa_error`: `.arg2 = (uint32_t)error_code`).

Not modelled (answered FFA_ERROR(NOT_SUPPORTED) here, unlike Hafnium): fragmented memory
transactions (FFA_MEM_FRAG_RX/TX), FFA_MEM_RETRIEVE_REQ/RELINQUISH from the normal world,
notifications, FFA_MSG_SEND2, FFA_RX_ACQUIRE, FFA_RUN, FFA_NS_RES_INFO_GET, FFA_ERROR
from the normal world, and RXTX_MAP on behalf of a VM (x1 = x2 = 0).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from ... import memmap
from ...arch.bits import MASK32, w
from ...ffa import memdesc
from ...ffa.abi import V1_0, V1_1, V1_2, V1_3, VERSION_MBZ, FfaError, FfaId, compatible
from ...trap import SMCCC_ARG_REGS
from . import hyp_retrieve
from .base import PAGE, SECURE_ID_BIT, Buffers, FfaServices, RefusedCall, Share
from .bl31 import FFA_NS_RES_INFO_GET_64, Spmc
from .echo_sp import ECHO_SPS, PROP_AARCH64, PROP_DIRECT_REQ2_RECV, PROP_DIRECT_REQ_RECV, EchoSp

F = FfaId
OTHER_WORLD_ID = 0                     # HF_OTHER_WORLD_ID = HF_HYPERVISOR_VM_ID (vmid_base.h)
HF_VERSION = V1_3                      # FFA_VERSION_COMPILED
SVE_HINT = 1 << 16                     # SMCCC_SVE_HINT_MASK, masked by smc_handler_from_nwd
RXTX_DESC = struct.Struct("<HHII4x")    # struct ffa_endpoint_rx_tx_descriptor (inc/vmapi/hf/ffa.h)
COMPOSITE = struct.Struct("<II8x")      # struct ffa_composite_memory_region (header)
CONSTITUENT = struct.Struct("<QI4x")    # struct ffa_memory_region_constituent
MAILBOX_PAGES = 1                      # HF_MAILBOX_SIZE / FFA_PAGE_SIZE
MAX_MEM_SHARES = 100                   # inc/hf/ffa_memory_internal.h
PARTITION_INFO_SIZE = 48               # sizeof(struct ffa_partition_info) (v1.3 layout)
PARTITION_INFO_V1_0_SIZE = 8           # sizeof(struct ffa_partition_info_v1_0)
PROPS_V1_0 = 0x7                       # ~FFA_PARTITION_v1_0_RES_MASK (ffa_v1_0.h)
INFO_REGS_PER_CALL = 2                 # MAX_INFO_REGS_ENTRIES_PER_CALL (src/api.c)
FRAMEWORK_MSG_BIT = 1 << 31            # FFA_FRAMEWORK_MSG_BIT
FEATURE_ID_MBZ = 0x7FFF_FF00           # FFA_FEATURES_FEATURE_MBZ_HI/LO_BIT (30:8)
FEATURE_SRI, FEATURE_NOTIFICATION = 2, 4
SCHEDULE_RECEIVER_INTID = 8            # HF_SCHEDULE_RECEIVER_INTID (types.h)
NOTIFY_NO_PER_VCPU = 0b11              # FFA_NOTIFY_FEAT_NO_PER_VCPU_VM | _SP
RXTX_MAP_MAX_BUF_SHIFT = 16            # struct ffa_features_rxtx_map_params.max_buf_size
RETRIEVE_NS_BIT, RETRIEVE_HYP = 1 << 1, 1 << 2   # FFA_FEATURES_MEM_RETRIEVE_REQ_*_SUPPORT

# ffa_features_function: IDs answered FFA_SUCCESS with w2 = 0 to the normal world.
FEATURES_ZERO = frozenset({
    F.FFA_ERROR, F.FFA_SUCCESS, F.FFA_SUCCESS_64, F.FFA_INTERRUPT, F.FFA_VERSION,
    F.FFA_FEATURES, F.FFA_RX_RELEASE, F.FFA_RXTX_UNMAP, F.FFA_PARTITION_INFO_GET, F.FFA_ID_GET,
    F.FFA_MSG_WAIT, F.FFA_RUN, F.FFA_MEM_DONATE, F.FFA_MEM_DONATE_64, F.FFA_MEM_LEND,
    F.FFA_MEM_LEND_64, F.FFA_MEM_SHARE, F.FFA_MEM_SHARE_64, F.FFA_MEM_RETRIEVE_RESP,
    F.FFA_MEM_RELINQUISH, F.FFA_MEM_RECLAIM, F.FFA_MEM_FRAG_RX, F.FFA_MEM_FRAG_TX,
    F.FFA_MSG_SEND_DIRECT_RESP, F.FFA_MSG_SEND_DIRECT_RESP_64, F.FFA_MSG_SEND_DIRECT_REQ,
    F.FFA_MSG_SEND_DIRECT_REQ_64,
    # FF-A v1.1 features
    F.FFA_SPM_ID_GET, F.FFA_NOTIFICATION_BITMAP_CREATE, F.FFA_NOTIFICATION_BITMAP_DESTROY,
    F.FFA_NOTIFICATION_BIND, F.FFA_NOTIFICATION_UNBIND, F.FFA_NOTIFICATION_SET,
    F.FFA_NOTIFICATION_GET, F.FFA_MSG_SEND2,
    F.FFA_RX_ACQUIRE,                  # the caller is HF_HYPERVISOR_VM_ID
    F.FFA_NOTIFICATION_INFO_GET_64,    # the other world is the primary (vmid_base.h)
    # FF-A v1.2 features
    F.FFA_CONSOLE_LOG, F.FFA_CONSOLE_LOG_64, F.FFA_PARTITION_INFO_GET_REGS,
    F.FFA_MSG_SEND_DIRECT_REQ2, F.FFA_MSG_SEND_DIRECT_RESP2,
    FFA_NS_RES_INFO_GET_64,            # v1.3, only discoverable from the normal world
})


@dataclass
class OtherWorldVm:
    """Hafnium's `struct vm` for the normal world: its version starts at
    FFA_VERSION_COMPILED (`other_world.c`: "Force the hypervisor's version to be same as
    ours")."""

    ffa_version: int
    negotiated: bool = False



# An answer: x0-x7 of Hafnium's `struct ffa_value` (unset fields zero) and x8-x17 when
# `extended_val.valid`; otherwise arch_regs_set_retval leaves the vCPU's x8-x17 alone.
HfAnswer = tuple[list[int], "list[int] | None"]


def hf_value(*values: int, ext: list[int] | None = None) -> HfAnswer:
    return (list(values) + [0] * 8)[:8], ext


def hf_success(*values: int) -> HfAnswer:
    return hf_value(F.FFA_SUCCESS, 0, *values)


def hf_error(code: FfaError) -> HfAnswer:
    """ffa_error (inc/hf/ffa_internal.h): FFA_ERROR_32, w2 = (uint32_t)code."""
    return hf_value(F.FFA_ERROR, 0, code & MASK32)


class HafniumSpmc(Spmc):
    """bl31.Spmc for the TF-A SPMD: Hafnium v2.15.0 at S-EL2 with the echo SPs."""

    spmc_id = 0x8000                 # HF_SPMC_VM_ID; the SPMC manifest's spmc_id
    # Behaviour that older Hafnium releases had differently (BUGZOO.md variants).
    hf_version = HF_VERSION          # tfa-spmd:spmc-version: FFA_VERSION_COMPILED
    version_store_compatible = True  # tfa-spmd:version-store: refuse incompatible (3cc9d6f4)

    def __init__(self, state: FfaServices | None = None, sps: tuple[EchoSp, ...] = ECHO_SPS):
        self.sps = sps
        self.ow = OtherWorldVm(self.hf_version)
        self.state = state or FfaServices()          # buffers[0]: the other world's RX/TX
        self.shares = self.state.shares              # by handle (= share-state slot)

    @property
    def mailbox(self) -> Buffers | None:
        return self.state.buffers.get(OTHER_WORLD_ID)

    @mailbox.setter
    def mailbox(self, buffers: Buffers | None) -> None:
        if buffers is None:
            self.state.buffers.pop(OTHER_WORLD_ID, None)
        else:
            self.state.buffers[OTHER_WORLD_ID] = buffers

    def negotiated_version(self) -> int:
        return self.ow.ffa_version

    # FFA_VERSION (the SPMD's framework message) -------------------------------------
    def version_request(self, requested: int) -> int:
        """`handle_spmd_to_spmc_framework_msg` runs `api_ffa_version(current, x3)`
        (src/api.c): bit 31 or incompatible with v1.3 -> NOT_SUPPORTED; once negotiated,
        any other version -> NOT_SUPPORTED; else the request is stored and v1.3 answered.
        The request itself is an FFA_MSG_SEND_DIRECT_REQ_32, so `hvc_smc_handler` then
        marks the other world negotiated: the first FFA_VERSION ends negotiation."""
        ow = self.ow
        refused = VERSION_MBZ.get(requested) or (
            self.version_store_compatible and not compatible(requested, self.hf_version))
        if refused or (ow.negotiated and requested != ow.ffa_version):
            answer = FfaError.NOT_SUPPORTED & MASK32
        else:
            ow.ffa_version = requested
            answer = self.hf_version
        ow.negotiated = True
        return answer

    # Everything else the SPMD forwards ------------------------------------------------
    def smc(self, xs: list[int], mem) -> list[int]:
        """smc_handler_from_nwd -> ffa_handler: x0-x17 back to the SPMD. A call
        ffa_handler does not know is FFA_ERROR(NOT_SUPPORTED) and leaves negotiation
        open; any other marks the other world negotiated."""
        xs = (list(xs) + [0] * SMCCC_ARG_REGS)[:SMCCC_ARG_REGS]
        fid = w(xs[0]) & ~SVE_HINT
        handler = _HANDLERS.get(fid)
        if handler is None:
            low, ext = hf_error(FfaError.NOT_SUPPORTED)
        else:
            try:
                low, ext = handler(self, fid, xs, mem)
            except RefusedCall as refused:
                low, ext = hf_error(refused.code)
            self.ow.negotiated = True
        return low + (list(ext) if ext is not None else xs[8:])

    # api_ffa_features -----------------------------------------------------------------
    def _hf_features(self, fid: int, xs: list[int], mem) -> HfAnswer:
        """api_ffa_features(uint32_t id, uint32_t input_property): bit 31 clear selects
        a feature ID (ffa_features_feature), set a function ID (ffa_features_function)."""
        asked, prop = w(xs[1]), w(xs[2])
        if not asked >> 31:
            if asked & FEATURE_ID_MBZ or prop:
                raise RefusedCall(FfaError.NOT_SUPPORTED)
            props = {FEATURE_SRI: SCHEDULE_RECEIVER_INTID,          # ffa_is_vm_id(current)
                     FEATURE_NOTIFICATION: NOTIFY_NO_PER_VCPU}.get(asked)
            if props is None:            # NPI, MEI: secure virtual instance only
                raise RefusedCall(FfaError.NOT_SUPPORTED)
            return hf_success(props)
        if asked in FEATURES_ZERO:
            return hf_success(0)
        if asked == F.FFA_RXTX_MAP_64:   # min 4K; max_buf_size only for a v1.2+ caller
            max_pages = MAILBOX_PAGES if self.ow.ffa_version >= V1_2 else 0
            return hf_success(max_pages << RXTX_MAP_MAX_BUF_SHIFT)
        if asked in (F.FFA_MEM_RETRIEVE_REQ, F.FFA_MEM_RETRIEVE_REQ_64):
            if self.ow.ffa_version >= V1_1 and not prop & RETRIEVE_NS_BIT:
                raise RefusedCall(FfaError.NOT_SUPPORTED)
            return hf_success(RETRIEVE_NS_BIT | RETRIEVE_HYP)
        raise RefusedCall(FfaError.NOT_SUPPORTED)   # incl. FFA_RXTX_MAP_32, MEM_PERM_*, YIELD

    # Partitions -----------------------------------------------------------------------
    def _hf_properties(self, sp: EchoSp) -> int:
        """api_ffa_partitions_info_get_properties for a normal-world caller
        (ffa_setup_partition_properties: no *_SEND bits; REQ2 only for a v1.2+ SP)."""
        mask = PROP_DIRECT_REQ_RECV | (PROP_DIRECT_REQ2_RECV if sp.version >= V1_2 else 0)
        return (sp.methods & mask) | PROP_AARCH64

    def _hf_matches(self, uuid: bytes) -> list[EchoSp]:
        """api_ffa_fill_partitions_info_array: a null UUID matches every SP."""
        return [sp for sp in self.sps if uuid == bytes(16) or sp.uuid == uuid]

    def _hf_partition_info_get(self, fid: int, xs: list[int], mem) -> HfAnswer:
        """api_ffa_partition_info_get(uuid = w1-w4, flags = w5) and
        send_versioned_partition_info_descriptors."""
        uuid = b"".join(w(xs[n]).to_bytes(4, "little") for n in range(1, 5))
        flags = w(xs[5])
        if flags & ~1:                                     # bits [31:1] MBZ
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        sps = self._hf_matches(uuid)
        if not sps:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if flags & 1:                                      # count only: w3 is not set
            return hf_success(len(sps))
        buf = self.mailbox
        if buf is None or buf.rx_full:                     # vm_is_mailbox_busy
            raise RefusedCall(FfaError.BUSY)
        null = uuid == bytes(16)
        if self.ow.ffa_version == V1_0:
            size = PARTITION_INFO_V1_0_SIZE
            blob = b"".join(struct.pack("<HHI", sp.id, sp.vcpus, self._hf_properties(sp) & PROPS_V1_0)
                            for sp in sps)
        else:   # "the SPMC will not format the descriptor to match the client's expectations"
            size = PARTITION_INFO_SIZE
            blob = b"".join(struct.pack("<HHI16s16sII", sp.id, sp.vcpus, self._hf_properties(sp),
                                        sp.uuid if null else bytes(16), bytes(16), sp.version, 0)
                            for sp in sps)
        if not mem.write(buf.rx, blob):
            raise RefusedCall(FfaError.ABORTED)            # memcpy_trapped failed
        buf.rx_full = True
        return hf_success(len(sps), size)

    def _hf_partition_info_get_regs(self, fid: int, xs: list[int], mem) -> HfAnswer:
        """api_ffa_partition_info_get_regs: UUID in x1/x2 (ffa_uuid_from_u64x2), start
        index x3[15:0], tag x3[31:16]; two 6-register entries from x3 (x3-x8, x9-x14)."""
        uuid = xs[1].to_bytes(8, "little") + xs[2].to_bytes(8, "little")
        start, tag = xs[3] & 0xFFFF, (xs[3] >> 16) & 0xFFFF
        if tag:
            raise RefusedCall(FfaError.RETRY)             # "TODO: Add support for using tags"
        sps = self._hf_matches(uuid)
        if not sps or start >= len(sps):
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        last = min(len(sps), start + INFO_REGS_PER_CALL) - 1
        regs = [F.FFA_SUCCESS_64, 0, (PARTITION_INFO_SIZE << 48) | (last << 16) | (len(sps) - 1)]
        null = uuid == bytes(16)
        for sp in sps[start:last + 1]:
            proto = sp.uuid if null else bytes(16)
            regs += [sp.id | sp.vcpus << 16 | self._hf_properties(sp) << 32,
                     int.from_bytes(proto[:8], "little"), int.from_bytes(proto[8:], "little"),
                     0, 0, sp.version]                     # image UUID: none in the manifest
        regs = (regs + [0] * 18)[:18]
        return hf_value(*regs[:8], ext=regs[8:18])

    # RX/TX buffers ---------------------------------------------------------------------
    def _hf_rxtx_map(self, fid: int, xs: list[int], mem) -> HfAnswer:
        """api_ffa_rxtx_map -> api_vm_configure_pages: only FFA_RXTX_MAP_64 exists in
        ffa_handler; x1/x2 are 64-bit IPAs, w3 the whole page count."""
        tx, rx, pages = xs[1], xs[2], w(xs[3])
        if tx == rx == pages == 0:                     # forwarded by the hypervisor for a VM
            return self._hf_rxtx_map_forwarded(mem)
        if self.mailbox is not None:
            raise RefusedCall(FfaError.DENIED)            # "Mailboxes have already been setup"
        if pages != MAILBOX_PAGES or tx % PAGE or rx % PAGE or tx == rx:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if not all(mem.in_ram(a, PAGE) and memmap.normal_world_owns(a, PAGE) for a in (tx, rx)):
            # arch_other_world_vm_configure_rxtx_map: not mapped R/W/X/NS in the normal
            # world's page tables (its ns-memory, here the machine's RAM) -> DENIED.
            raise RefusedCall(FfaError.DENIED)
        self.mailbox = Buffers(tx, rx, pages)
        return hf_success()

    def _hf_rxtx_unmap(self, fid: int, xs: list[int], mem) -> HfAnswer:
        """api_ffa_rxtx_unmap(ffa_vm_id(args) = x1[31:16]): a secure ID, an unknown VM or
        no mapping is INVALID_PARAMETERS."""
        owner = (xs[1] >> 16) & 0xFFFF                 # allocator_id, or the caller itself
        if owner & SECURE_ID_BIT or owner not in self.state.buffers:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        del self.state.buffers[owner]
        return hf_success()

    def _hf_rxtx_map_forwarded(self, mem) -> HfAnswer:
        """api_get_rxtx_description (src/api.c): the hypervisor's TX holds a struct
        ffa_endpoint_rx_tx_descriptor (endpoint ID, 8-byte aligned RX/TX offsets to
        composite regions); the VM's buffers are then configured like the caller's own
        (api_vm_configure_pages: already mapped -> DENIED)."""
        hyp = self.mailbox
        if hyp is None:                                # "hypervisor has not provided RXTX"
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        owner, _, rx_offs, tx_offs = RXTX_DESC.unpack(mem.read(hyp.tx, RXTX_DESC.size))
        if rx_offs % 8 or tx_offs % 8:                 # descriptor offsets valid
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        (rx, pages), (tx, _) = (_first_constituent(mem, hyp.tx + off) for off in (rx_offs, tx_offs))
        if owner & SECURE_ID_BIT:                      # ffa_vm_find_locked_create: no such VM
            raise RefusedCall(FfaError.DENIED)
        if owner in self.state.buffers:
            raise RefusedCall(FfaError.DENIED)
        if pages != MAILBOX_PAGES or tx % PAGE or rx % PAGE or tx == rx:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if not (mem.in_ram(tx, PAGE) and mem.in_ram(rx, PAGE)):
            raise RefusedCall(FfaError.DENIED)
        self.state.buffers[owner] = Buffers(tx, rx, pages)
        return hf_success()

    def _hf_rx_acquire(self, fid: int, xs: list[int], mem) -> HfAnswer:
        """api_ffa_rx_acquire(receiver = w1): the hypervisor takes a VM's RX; no buffers
        -> INVALID_PARAMETERS, a full one -> DENIED."""
        vm = w(xs[1]) & 0xFFFF
        if vm & SECURE_ID_BIT:
            raise RefusedCall(FfaError.NOT_SUPPORTED)
        buf = self.state.buffers.get(vm)
        if buf is None:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if buf.rx_full:
            raise RefusedCall(FfaError.DENIED)
        buf.rx_full = True
        return hf_success()

    def _hf_rx_release(self, fid: int, xs: list[int], mem) -> HfAnswer:
        """api_ffa_rx_release(ffa_receiver = x1[15:0]) -> api_release_mailbox: an empty
        mailbox is DENIED; another VM's ID is unknown here (INVALID_PARAMETERS)."""
        vm = xs[1] & 0xFFFF                             # 0: the caller's own RX
        if vm not in self.state.buffers and vm:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        buf = self.state.buffers.get(vm)
        if buf is None or not buf.rx_full:
            raise RefusedCall(FfaError.DENIED)
        buf.rx_full = False
        return hf_success()

    # Direct messages --------------------------------------------------------------------
    def _hf_direct_req(self, fid: int, xs: list[int], mem) -> HfAnswer:
        """api_ffa_msg_send_direct_req from the other world."""
        src, dst = (xs[1] >> 16) & 0xFFFF, xs[1] & 0xFFFF
        if fid != F.FFA_MSG_SEND_DIRECT_REQ2:
            if w(xs[2]) & FRAMEWORK_MSG_BIT:
                # ffa_direct_msg_handle_framework_msg: VM availability needs a subscribed
                # SP, SPMD messages need sender 0xFFFF: INVALID_PARAMETERS from here.
                raise RefusedCall(FfaError.INVALID_PARAMETERS)
            if xs[2]:                                   # api_ffa_dir_msg_is_arg2_zero: all 64 bits
                raise RefusedCall(FfaError.INVALID_PARAMETERS)
        # ffa_direct_msg_is_direct_request_valid (src/ffa/spmc/direct_messaging.c)
        if src == dst or not dst & SECURE_ID_BIT or src & SECURE_ID_BIT:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        sp = next((p for p in self.sps if p.id == dst), None)
        if sp is None:                                  # vm_find
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if fid == F.FFA_MSG_SEND_DIRECT_REQ2:
            uuid = xs[2].to_bytes(8, "little") + xs[3].to_bytes(8, "little")
            if uuid != bytes(16) and uuid != sp.uuid:   # api_ffa_dir_msg_req2_uuid_is_valid
                raise RefusedCall(FfaError.INVALID_PARAMETERS)
            # ffa_direct_msg_is_direct_request_supported: both sides at v1.2+
            if self.ow.ffa_version < V1_2 or sp.version < V1_2 or not sp.methods & PROP_DIRECT_REQ2_RECV:
                raise RefusedCall(FfaError.DENIED)
        elif not sp.methods & PROP_DIRECT_REQ_RECV:
            raise RefusedCall(FfaError.DENIED)
        delivered = list(xs)
        if fid == F.FFA_MSG_SEND_DIRECT_REQ:            # api_ffa_dir_msg_value: copy32, w2 = 0
            delivered[:8] = [w(v) for v in xs[:8]]
            delivered[2] = 0
        answer = sp.respond(fid, delivered, self.state.deliveries)
        if fid == F.FFA_MSG_SEND_DIRECT_REQ:            # RESP_32: api_ffa_dir_msg_value, copy32
            return hf_value(*[w(v) for v in answer[:8]])
        if fid == F.FFA_MSG_SEND_DIRECT_REQ_64:         # x8-x17: arch_regs_get_args, not extended
            return hf_value(*answer[:8])
        return hf_value(*answer[:8], ext=answer[8:18])

    def _hf_direct_resp(self, fid: int, xs: list[int], mem) -> HfAnswer:
        """api_ffa_msg_send_direct_resp: the other world is not answering a request
        (api_ffa_msg_send_direct_resp_validate_args fails) -> INVALID_PARAMETERS."""
        raise RefusedCall(FfaError.INVALID_PARAMETERS)

    # Memory sharing -------------------------------------------------------------------
    def _hf_mem_send(self, fid: int, xs: list[int], mem) -> HfAnswer:
        """api_ffa_mem_send(w1 length, w2 fragment length, x3 address as a 64-bit IPA,
        w4 page count); the handle is the share-state slot index with allocator bit 63
        clear (share_state_allocate, ffa_memory_make_handle, FFA_MEMORY_HANDLE_ALLOCATOR_SPMC),
        answered FFA_SUCCESS_32 with w2/w3 = low/high (ffa_mem_success) for SMC32 and SMC64."""
        length, fragment, address, pages = w(xs[1]), w(xs[2]), xs[3], w(xs[4])
        if address or pages:             # "Hafnium only supports passing the descriptor in the TX"
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        buf = self.mailbox
        if fragment > length or fragment > MAILBOX_PAGES * PAGE or buf is None:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if fragment != length:
            raise RefusedCall(FfaError.NOT_SUPPORTED)   # model: fragments not modelled
        desc = mem.read(buf.tx, length)
        if desc is None:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        lend = fid in (F.FFA_MEM_LEND, F.FFA_MEM_LEND_64, F.FFA_MEM_DONATE, F.FFA_MEM_DONATE_64)
        share = self._check_descriptor(desc, mem, lend)
        slot = next((n for n in range(MAX_MEM_SHARES) if n not in self.shares), None)
        if slot is None:
            raise RefusedCall(FfaError.NO_MEMORY)
        self.shares[slot] = share
        return hf_success(slot & MASK32, slot >> 32)

    def _check_descriptor(self, desc: bytes, mem, lend: bool) -> Share:
        """ffa_memory_region_sanity_check and ffa_memory_send_validate, as far as
        modelled: a well-formed descriptor for the caller's version, a sender that is not
        a secure ID (DENIED: "The sender must match the caller"), known receivers and
        page-aligned, non-empty ranges in RAM."""
        try:
            region = memdesc.parse(desc, self.ow.ffa_version == V1_0)
        except ValueError:
            raise RefusedCall(FfaError.INVALID_PARAMETERS) from None
        if region.sender & SECURE_ID_BIT:
            raise RefusedCall(FfaError.DENIED)
        known = {sp.id for sp in self.sps}
        if not set(region.receivers) <= known or any(
                address % PAGE or not pages or not mem.in_ram(address, pages * PAGE)
                for address, pages in region.ranges):
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        return Share(region.sender, region.receivers, region.ranges, lend)

    def _hf_mem_reclaim(self, fid: int, xs: list[int], mem) -> HfAnswer:
        """api_ffa_mem_reclaim(ffa_assemble_handle(w1, w2), w3): an unknown handle is
        INVALID_PARAMETERS."""
        handle = (w(xs[2]) << 32) | w(xs[1])
        if handle not in self.shares:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        del self.shares[handle]
        return hf_success()

    def _hf_mem_retrieve_req(self, fid: int, xs: list[int], mem) -> HfAnswer:
        """api_ffa_mem_retrieve_req from the normal world: only a hypervisor retrieve
        request (receiver count 0: ffa_memory.c is_ffa_hypervisor_retrieve_request) is
        served, with the region written to the caller's RX buffer (hyp_retrieve.py)."""
        total, fragment, buf = w(xs[1]), w(xs[2]), self.mailbox
        request = mem.read(buf.tx, total) if buf is not None and fragment == total \
            and total <= buf.pages * PAGE else None
        if request is None or not hyp_retrieve.is_hypervisor_retrieve(request):
            raise RefusedCall(FfaError.NOT_SUPPORTED)
        if buf.rx_full:
            raise RefusedCall(FfaError.BUSY)
        try:
            desc = hyp_retrieve.response(request, self.shares, self.ow.ffa_version)
        except hyp_retrieve.Refused as refused:
            raise RefusedCall(refused.code) from None
        mem.write(buf.rx, desc)
        buf.rx_full = True
        return hf_value(F.FFA_MEM_RETRIEVE_RESP, len(desc), len(desc))


def _first_constituent(mem, at: int) -> tuple[int, int]:
    """(address, pages) of a struct ffa_composite_memory_region's first constituent."""
    raw = mem.read(at, COMPOSITE.size + CONSTITUENT.size) or bytes(COMPOSITE.size + CONSTITUENT.size)
    address, pages = CONSTITUENT.unpack_from(raw, COMPOSITE.size)
    return address, pages


H = HafniumSpmc
# ffa_handler (handler.c): the FIDs Hafnium handles, exactly as spelled there.
_HANDLERS = {
    F.FFA_FEATURES: H._hf_features,
    F.FFA_PARTITION_INFO_GET: H._hf_partition_info_get,
    F.FFA_PARTITION_INFO_GET_REGS: H._hf_partition_info_get_regs,
    F.FFA_RXTX_MAP_64: H._hf_rxtx_map,
    F.FFA_RXTX_UNMAP: H._hf_rxtx_unmap,
    F.FFA_RX_RELEASE: H._hf_rx_release,
    F.FFA_MSG_SEND_DIRECT_REQ: H._hf_direct_req,
    F.FFA_MSG_SEND_DIRECT_REQ_64: H._hf_direct_req,
    F.FFA_MSG_SEND_DIRECT_REQ2: H._hf_direct_req,
    F.FFA_MSG_SEND_DIRECT_RESP: H._hf_direct_resp,
    F.FFA_MSG_SEND_DIRECT_RESP_64: H._hf_direct_resp,
    F.FFA_MSG_SEND_DIRECT_RESP2: H._hf_direct_resp,
    F.FFA_MEM_SHARE: H._hf_mem_send,
    F.FFA_MEM_SHARE_64: H._hf_mem_send,
    F.FFA_MEM_LEND: H._hf_mem_send,
    F.FFA_MEM_LEND_64: H._hf_mem_send,
    F.FFA_MEM_DONATE: H._hf_mem_send,
    F.FFA_MEM_DONATE_64: H._hf_mem_send,
    F.FFA_MEM_RECLAIM: H._hf_mem_reclaim,
    F.FFA_MEM_RETRIEVE_REQ: H._hf_mem_retrieve_req,
    F.FFA_RX_ACQUIRE: H._hf_rx_acquire,
    F.FFA_MEM_RETRIEVE_REQ_64: H._hf_mem_retrieve_req,
}
