"""Constants and helpers of Xen's FF-A mediator: Xen RELEASE-4.22.0 (= master c447b7308b,
2026-08-20, except `ffa_msg.c` SEND2 hardening, not modelled), xen/arch/arm/tee/.

Each handler returns the guest's result registers as `{n: value}` (only what Xen writes),
or is a generator (`yield trap.forward(...)`) when Xen calls the firmware. Results built
with `set_regs` follow ffa_private.h `ffa_set_regs()`: x0-x7 always, x8-x17 zeroed only
once the VM has published a version >= 1.2 (else the guest's x8-x17 stay).
`ffa_get_ret_code()` reads the firmware's a0 as 64 bits (`switch (resp->a0)`).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ...arch.bits import MASK32, MASK64, w
from ...ffa.abi import FfaError, FfaId

PAGE = 0x1000                      # FFA_PAGE_SIZE
MAX_RXTX_PAGES = 1                 # ffa_private.h FFA_MAX_RXTX_PAGE_COUNT
MAX_NUM_SP = 64                    # FFA_MAX_NUM_SP
MAX_SHM_PAGES = 2 * 0x8_0000 // PAGE   # FFA_MAX_SHM_PAGE_COUNT
MAX_SHM_COUNT = 32                 # FFA_MAX_SHM_COUNT
SECURE_ID = 1 << 15                # FFA_ID_IS_SECURE
PARTINFO_1_0 = struct.Struct("<HHI")   # struct ffa_partition_info_1_0
PARTINFO_1_1_SIZE = 24             # sizeof(struct ffa_partition_info_1_1)
PARTINFO_REG_MAX = 5               # FFA_PARTINFO_REG_MAX_ENTRIES: x3-x17, 3 registers each
# FFA_PART_VM_PROP (DIRECT_REQ_SEND | INDIRECT_MSGS | RECV_NOTIF | IS_PE_ID) | AARCH64_STATE
VM_PROPERTIES = 0x2 | 0x4 | 0x8 | 0x100
COUNT_FLAG = 1                     # FFA_PARTITION_INFO_GET_COUNT_FLAG
FEATURE_NOTIF_PEND_INTR, FEATURE_SCHEDULE_RECV_INTR = 0x1, 0x2
NOTIF_PEND_INTR_ID, SCHEDULE_RECV_INTR_ID = 8, 9   # public/arch-arm.h GUEST_FFA_*_INTR_ID
NORMAL_MEM_REG_ATTR = (2 << 4) | (3 << 2) | 3      # FFA_NORMAL_MEM_REG_ATTR
MEM_ATTR_NS = 1 << 6
MEM_ACC_RW = 0x2
MEM_TRANSACTION_1_1 = struct.Struct("<HHIQQIII12x")  # struct ffa_mem_transaction_1_1
MEM_TRANSACTION_1_0 = struct.Struct("<HBxIQQ4xI")    # up to mem_access_count (v1.0)
MEM_ACCESS = struct.Struct("<HBBI8x")              # struct ffa_mem_access (16 bytes)
MEM_ACCESS_1_2_SIZE = 32                           # struct ffa_mem_access_1_2
MEM_REGION = struct.Struct("<II8x")                # struct ffa_mem_region (composite)
ADDR_RANGE = struct.Struct("<QI4x")                # struct ffa_address_range
RXTX_DESC = struct.Struct("<HHII")                 # struct ffa_endpoint_rxtx_descriptor_1_1
SEND2_HEADER_1_1_SIZE = 20                         # struct ffa_part_msg_rxtx_1_1
SEND2_HEADER_1_2 = struct.Struct("<IIIIII16s")     # struct ffa_part_msg_rxtx_1_2

# ffa.c ffa_fw_abi_needed[]: what ffa_probe_fw() asks the firmware with FFA_FEATURES.
FW_ABI_NEEDED = (
    FfaId.FFA_VERSION, FfaId.FFA_FEATURES, FfaId.FFA_NOTIFICATION_BITMAP_CREATE,
    FfaId.FFA_NOTIFICATION_BITMAP_DESTROY, FfaId.FFA_PARTITION_INFO_GET,
    FfaId.FFA_NOTIFICATION_INFO_GET_64, FfaId.FFA_NOTIFICATION_GET, FfaId.FFA_RX_ACQUIRE,
    FfaId.FFA_RX_RELEASE, FfaId.FFA_RXTX_MAP_64, FfaId.FFA_RXTX_UNMAP, FfaId.FFA_MEM_SHARE_64,
    FfaId.FFA_MEM_RECLAIM, FfaId.FFA_MSG_SEND_DIRECT_REQ, FfaId.FFA_MSG_SEND_DIRECT_REQ_64,
    FfaId.FFA_MSG_SEND2, FfaId.FFA_MSG_SEND_DIRECT_REQ2, FfaId.FFA_RUN,
)
# ffa.c handle_features(): answered SUCCESS(0, 0) unconditionally.
FEATURES_ALWAYS = frozenset({
    FfaId.FFA_ERROR, FfaId.FFA_VERSION, FfaId.FFA_INTERRUPT, FfaId.FFA_SUCCESS,
    FfaId.FFA_SUCCESS_64, FfaId.FFA_FEATURES, FfaId.FFA_ID_GET, FfaId.FFA_RX_RELEASE,
    FfaId.FFA_RXTX_UNMAP, FfaId.FFA_MEM_RECLAIM, FfaId.FFA_PARTITION_INFO_GET,
    FfaId.FFA_NOTIFICATION_BIND, FfaId.FFA_NOTIFICATION_UNBIND, FfaId.FFA_NOTIFICATION_GET,
    FfaId.FFA_NOTIFICATION_SET, FfaId.FFA_NOTIFICATION_INFO_GET, FfaId.FFA_NOTIFICATION_INFO_GET_64,
})
FEATURES_NEVER = frozenset({FfaId.FFA_NOTIFICATION_BITMAP_CREATE,
                            FfaId.FFA_NOTIFICATION_BITMAP_DESTROY, FfaId.FFA_RX_ACQUIRE})
FEATURES_IF_FW = frozenset({FfaId.FFA_MSG_SEND_DIRECT_REQ, FfaId.FFA_MSG_SEND_DIRECT_REQ_64,
                            FfaId.FFA_RUN})
# ffa_msg.c ffa_finish_direct_req_run(): answers passed back (masked to their convention).
DIRECT_ANSWERS = frozenset({
    FfaId.FFA_ERROR, FfaId.FFA_SUCCESS, FfaId.FFA_SUCCESS_64, FfaId.FFA_MSG_SEND_DIRECT_RESP,
    FfaId.FFA_MSG_SEND_DIRECT_RESP_64, FfaId.FFA_YIELD, FfaId.FFA_INTERRUPT})


@dataclass
class Mailbox:
    """A VM's RX/TX pair (ffa_rxtx.c: ctx->rx, tx, page_count, rx_is_free)."""

    tx: int
    rx: int
    page_count: int
    rx_is_free: bool = True


@dataclass
class Firmware:
    """What ffa_probe_fw() learnt: ffa_fw_version, ffa_fw_abi_supported, the SP cache."""

    version: int = 0
    abis: set[int] = field(default_factory=set)
    sp_list: list[bytes] = field(default_factory=list)   # secure entries, sp_list_entry_size each
    notif_enabled: bool = False     # fw_notif_enabled: needs the SPMC's SRI, not modelled

    def supports(self, fid: int) -> bool:
        """ffa_private.h ffa_fw_supports_fid()."""
        return fid in self.abis


def ret_code(res: list[int]) -> int:
    """ffa_private.h ffa_get_ret_code(): 0, or the error as an int32."""
    if res[0] == FfaId.FFA_ERROR:
        return _s32(res[2]) if res[2] else FfaError.NOT_SUPPORTED
    if res[0] in (FfaId.FFA_SUCCESS, FfaId.FFA_SUCCESS_64):
        return 0
    return FfaError.NOT_SUPPORTED


def _s32(value: int) -> int:
    value &= MASK32
    return value - (1 << 32) if value >> 31 else value


def uuid_bytes(words: tuple[int, int, int, int]) -> bytes:
    """ffa_uuid_set(): the UUID as the SP entries store it (w1 first, little-endian)."""
    return struct.pack("<IIII", *(w(v) for v in words))


def sp_matches(entry: bytes, uuid: bytes) -> bool:
    """ffa_partinfo.c ffa_sp_entry_matches_uuid(): a nil UUID matches every SP."""
    return uuid == bytes(16) or entry[8:24] == uuid


def vm_entry(ffa_id: int, vcpus: int, size: int) -> bytes:
    """ffa_get_vm_partinfo(): a v1.0 entry for a VM, zero-padded to `size` (no UUID)."""
    return PARTINFO_1_0.pack(ffa_id, vcpus, VM_PROPERTIES).ljust(size, b"\0")[:size]


def sp_entry(entry: bytes, size: int, uuid: bytes) -> bytes:
    """ffa_copy_info() of a cached SP entry; the UUID is cleared when the query named one."""
    out = entry[:size].ljust(size, b"\0")
    if uuid != bytes(16) and size >= PARTINFO_1_1_SIZE:
        out = out[:8] + bytes(16) + out[24:]
    return out


def partinfo_regs_word2(start: int, count: int, total: int, tag: int) -> int:
    """x2 of FFA_PARTITION_INFO_GET_REGS' answer (ffa_handle_partition_info_get_regs)."""
    return ((PARTINFO_1_1_SIZE << 48) | ((tag & 0xFFFF) << 32) | (((start + count - 1) & 0xFFFF) << 16)
            | ((total - 1) & 0xFFFF))


def pack_regs(blobs: list[bytes]) -> list[int]:
    """Partition entries (24 bytes each) as x3.. values, 3 registers per entry."""
    data = b"".join(blobs)
    return [int.from_bytes(data[i:i + 8], "little") for i in range(0, len(data), 8)]


def masked(res: list[int]) -> list[int]:
    """x0-x7 of a passed-back answer, masked by the answer's own SMC32/SMC64 convention."""
    mask = MASK64 if res[0] & (1 << 30) else MASK32
    return [res[0]] + [v & mask for v in res[1:8]]
