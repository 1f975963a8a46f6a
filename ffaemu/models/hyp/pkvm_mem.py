"""pKVM's FF-A memory transactions at EL2 (Linux v6.18 arch/arm64/kvm/hyp/nvhe/ffa.c):
__do_ffa_mem_xfer, do_ffa_mem_frag_tx and do_ffa_mem_reclaim, with the host stage-2
bookkeeping of ffa_host_share_ranges/ffa_host_unshare_ranges, and what the rest of the
proxy shares: the mailbox constants and `struct arm_smccc_1_2_regs` results.

A mixin of `Pkvm` (pkvm.py).
"""
from __future__ import annotations

import struct

from ... import memmap
from ...arch.bits import MASK64, sext32, w
from ...ffa.abi import V1_0, FfaError, FfaId
from ...trap import SMCCC_ARG_REGS, Trap

HOST_FFA_ID = 0                 # ffa.c: "ID value 0 must be returned at the Non-secure physical FF-A instance"
PAGE = 0x1000                   # host PAGE_SIZE (4 KiB) = FFA_PAGE_SIZE
MBOX_PAGES = 1                  # kvm_pkvm.h KVM_FFA_MBOX_NR_PAGES
MBOX_BYTES = MBOX_PAGES * PAGE
HYP_TX = memmap.HARNESS_BASE + 0x8_0000     # the hypervisor's own mailbox, in hyp memory
HYP_RX = HYP_TX + PAGE
# kvm_pkvm.h hyp_ffa_proxy_pages(): a descriptor of KVM_FFA_MAX_NR_CONSTITUENTS (4096)
# ranges: 48 + 32 + 16 + 4096 * 16 bytes -> 17 pages of ffa_desc_buf.
DESC_BUF_LEN = 17 * PAGE
# arm_ffa.h struct sizes (v1.2 layout: ffa_mem_region_attributes has impdef_val[16]).
MEM_REGION = 48                 # sizeof(struct ffa_mem_region)
MEM_REGION_ATTRS = 32           # sizeof(struct ffa_mem_region_attributes)
COMPOSITE = 16                  # sizeof(struct ffa_composite_mem_region)
ADDR_RANGE = struct.Struct("<QI4x")     # struct ffa_mem_region_addr_range
EP_COUNT_AT = 28                # offsetof(struct ffa_mem_region, ep_count)
EP_MEM_OFFSET_AT = 32           # offsetof(struct ffa_mem_region, ep_mem_offset) (v1.0 EMADs)
COMPOSITE_OFF_IN_EMAD = 4       # offsetof(struct ffa_mem_region_attributes, composite_off)


def regs18(*values: int) -> list[int]:
    """A `struct arm_smccc_1_2_regs` built with designated initialisers: the rest is zero."""
    if not values:
        return [0] * SMCCC_ARG_REGS
    return [v & MASK64 for v in values] + [0] * (SMCCC_ARG_REGS - len(values))


def smccc_error(code: int) -> list[int]:
    """ffa.c ffa_to_smccc_error(): a0 = FFA_ERROR, a2 = (u64)(int)code, all else zero."""
    return regs18(FfaId.FFA_ERROR, 0, sext32(code))


def smccc_res(ret: int, prop: int = 0) -> list[int]:
    """ffa.c ffa_to_smccc_res_prop(): FFA_SUCCESS with a2 = prop, or the error."""
    return regs18(FfaId.FFA_SUCCESS, 0, prop) if ret == 0 else smccc_error(ret)

class PkvmMemory:
    """Memory sharing through the proxy: the host's pages move to the FF-A shared state."""

    def _share_ranges(self, ranges: list[tuple[int, int]]) -> int:
        """ffa_host_share_ranges(): every page host-owned and not yet shared, else DENIED."""
        pages = [a + n * PAGE for a, count in ranges for n in range(count)]
        if len(set(pages)) != len(pages) or any(
                a % PAGE or not self._host_owned(a, PAGE) or a in self.shared_pages for a in pages):
            return FfaError.DENIED
        self.shared_pages.update(pages)
        return 0

    def _unshare_ranges(self, ranges: list[tuple[int, int]]) -> None:
        for a, count in ranges:
            self.shared_pages.difference_update(a + n * PAGE for n in range(count))

    def _desc_offset(self) -> int:
        """arm_ffa.h ffa_mem_desc_offset(buf, 0, hyp_ffa_version)."""
        return MEM_REGION if self.hyp_version > V1_0 else EP_MEM_OFFSET_AT

    def _mem_xfer(self, trap: Trap, fid64: int):
        """__do_ffa_mem_xfer(): check the first fragment, share its ranges, forward as SMC64."""
        length, fraglen, addr_mbz, npages_mbz = trap.w(1), trap.w(2), trap.x(3), trap.w(4)
        if addr_mbz or npages_mbz or fraglen > length or fraglen > MBOX_BYTES:
            return smccc_error(FfaError.INVALID_PARAMETERS)
        if fraglen < MEM_REGION + MEM_REGION_ATTRS:
            return smccc_error(FfaError.INVALID_PARAMETERS)
        if self.host_buffers is None:
            return smccc_error(FfaError.INVALID_PARAMETERS)
        if length > DESC_BUF_LEN:
            return smccc_error(FfaError.NO_MEMORY)
        buf = trap.mem.read(self.host_buffers.tx, fraglen) or bytes(fraglen)
        trap.mem.write(HYP_TX, buf)
        sender, = struct.unpack_from("<H", buf, 0)
        ep_count, = struct.unpack_from("<I", buf, EP_COUNT_AT)
        offset, = struct.unpack_from("<I", buf, self._desc_offset() + COMPOSITE_OFF_IN_EMAD)
        if not offset or ep_count != 1 or sender != HOST_FFA_ID:
            return smccc_error(FfaError.INVALID_PARAMETERS)
        checked = offset + COMPOSITE
        if checked > 0xFFFF_FFFF or fraglen < checked:          # check_add_overflow (u32)
            return smccc_error(FfaError.INVALID_PARAMETERS)
        if (fraglen - checked) % ADDR_RANGE.size:
            return smccc_error(FfaError.INVALID_PARAMETERS)
        ranges = _ranges(buf, checked, (fraglen - checked) // ADDR_RANGE.size)
        ret = self._share_ranges(ranges)
        if ret:
            return smccc_error(ret)
        res = yield from self._smc(trap, fid64, length, fraglen)
        if fraglen != length:
            ok = res[0] == FfaId.FFA_MEM_FRAG_RX and res[3] == fraglen
        else:
            ok = res[0] == FfaId.FFA_SUCCESS                    # 64-bit compare
        if not ok:
            self._unshare_ranges(ranges)                        # err_unshare
        return res

    def _mem_frag_tx(self, trap: Trap):
        """do_ffa_mem_frag_tx(): a further fragment holds only address ranges."""
        handle_lo, handle_hi, fraglen, endpoint = trap.w(1), trap.w(2), trap.w(3), trap.w(4)
        if fraglen > MBOX_BYTES or fraglen % ADDR_RANGE.size or self.host_buffers is None:
            return smccc_error(FfaError.INVALID_PARAMETERS)
        buf = trap.mem.read(self.host_buffers.tx, fraglen) or bytes(fraglen)
        trap.mem.write(HYP_TX, buf)
        ranges = _ranges(buf, 0, fraglen // ADDR_RANGE.size)
        ret = self._share_ranges(ranges)
        if ret:         # abort the whole transaction: reclaim what the earlier fragments sent
            yield from self._smc(trap, FfaId.FFA_MEM_RECLAIM, handle_lo, handle_hi, 0)
            return smccc_error(ret)
        res = yield from self._smc(trap, FfaId.FFA_MEM_FRAG_TX, handle_lo, handle_hi, fraglen, endpoint)
        if res[0] not in (FfaId.FFA_SUCCESS, FfaId.FFA_MEM_FRAG_RX):
            self._unshare_ranges(ranges)
        return res

    def _mem_reclaim(self, trap: Trap):
        """do_ffa_mem_reclaim(): a hypervisor retrieve request (sender 0 + handle) through
        the hyp's TX buffer; whatever EL3 answers other than MEM_RETRIEVE_RESP goes back to
        the host as is. Then the reclaim itself, and the ranges return to the host."""
        handle_lo, handle_hi, flags = trap.w(1), trap.w(2), trap.w(3)
        desc = bytearray(MEM_REGION)
        struct.pack_into("<HHIQ", desc, 0, HOST_FFA_ID, 0, 0, (handle_hi << 32) | handle_lo)
        trap.mem.write(HYP_TX, bytes(desc))
        res = yield from self._smc(trap, FfaId.FFA_MEM_RETRIEVE_REQ_64, MEM_REGION, MEM_REGION)
        if res[0] != FfaId.FFA_MEM_RETRIEVE_RESP:
            return res
        length, fraglen = w(res[1]), w(res[2])
        buf = trap.mem.read(HYP_RX, min(fraglen, MBOX_BYTES)) or b""
        offset = _u32(buf, self._desc_offset() + COMPOSITE_OFF_IN_EMAD)
        if offset > length or fraglen > MBOX_BYTES:
            yield from self._smc(trap, FfaId.FFA_RX_RELEASE)
            return smccc_error(FfaError.ABORTED)
        if length > DESC_BUF_LEN:
            yield from self._smc(trap, FfaId.FFA_RX_RELEASE)
            return smccc_error(FfaError.NO_MEMORY)
        yield from self._smc(trap, FfaId.FFA_RX_RELEASE)
        fragoff = fraglen
        while fragoff < length:
            res = yield from self._smc(trap, FfaId.FFA_MEM_FRAG_RX, handle_lo, handle_hi, fragoff,
                                       HOST_FFA_ID)
            if res[0] != FfaId.FFA_MEM_FRAG_TX:
                return smccc_error(FfaError.INVALID_PARAMETERS)
            fraglen = w(res[3])
            buf += trap.mem.read(HYP_RX, min(fraglen, MBOX_BYTES)) or b""
            yield from self._smc(trap, FfaId.FFA_RX_RELEASE)
            fragoff += fraglen
        res = yield from self._smc(trap, FfaId.FFA_MEM_RECLAIM, handle_lo, handle_hi, flags)
        if res[0] == FfaId.FFA_SUCCESS:
            count = _u32(buf, offset + 4)                       # addr_range_cnt
            self._unshare_ranges(_ranges(buf, offset + COMPOSITE, count))
        return res

def _u32(buf: bytes, at: int) -> int:
    return struct.unpack_from("<I", buf, at)[0] if 0 <= at <= len(buf) - 4 else 0


def _ranges(buf: bytes, at: int, count: int) -> list[tuple[int, int]]:
    """`count` struct ffa_mem_region_addr_range from `at` (address, 4 KiB pages)."""
    out = []
    for n in range(count):
        if at + (n + 1) * ADDR_RANGE.size > len(buf):
            break
        out.append(ADDR_RANGE.unpack_from(buf, at + n * ADDR_RANGE.size))
    return out
