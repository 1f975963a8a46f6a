"""OP-TEE's memory sharing as the normal world reaches it (FFA_MEM_SHARE/LEND/RECLAIM/
FRAG_TX): core/arch/arm/kernel/thread_spmc.c (handle_mem_op, spmc_read_mem_transaction,
mem_op_init, add_mem_op, handle_mem_reclaim) and core/arch/arm/mm/mobj_ffa.c
(mobj_ffa_sel1_spmc_new: handle = 1 << 44 | the lowest free index), OP-TEE 4.10.0 and 4.4.0.
Held to the real images by tests/test_fwdiff.py (memory.S)."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ...arch.bits import MASK32
from ...ffa.abi import V1_1, FfaError, FfaId
from ...ffa.smccc import FID_SMC64
from .base import FirmwarePanic
from .optee_common import OPTEE_ID, PAGE, args, error, ns, success

HANDLE_NON_SECURE_BIT = 1 << 44     # FFA_MEMORY_HANDLE_NON_SECURE_BIT
MAX_SHM_COUNT = 64                  # SPMC_CORE_SEL1_MAX_SHM_COUNT
NORMAL_MEM_REG_ATTR = 0x2F          # FFA_NORMAL_MEM_REG_ATTR
MEM_ACC_RW = 1 << 1                 # FFA_MEM_ACC_RW


@dataclass
class OpteeMemory:
    """Shared memory OP-TEE holds, by handle (cookie -> pages). `rxtx` is the SPMC's RxTx."""

    shares: dict[int, int] = field(default_factory=dict)

    def mem_op(self, xs, mem, rxtx):
        """handle_mem_op (FFA_MEM_SHARE/LEND): x5-x7 MBZ in full, descriptor in the caller's
        TX (address 0) or in a buffer at x3 of w4 pages."""
        tot_len, frag_len, addr, page_count = (xs[1] & MASK32, xs[2] & MASK32, xs[3],
                                                xs[4] & MASK32)
        if xs[5] or xs[6] or xs[7] or frag_len > tot_len:
            return error(FfaError.INVALID_PARAMETERS)
        if not FID_SMC64.get(xs[0]):
            addr &= MASK32
        share = (xs[0] & MASK32) in (FfaId.FFA_MEM_SHARE, FfaId.FFA_MEM_SHARE_64)
        if not addr:
            if page_count:
                return error(FfaError.INVALID_PARAMETERS)
            rc = self._mem_op_rxbuf(share, tot_len, frag_len, mem, rxtx)
        else:
            rc = self._mem_op_tmem(share, addr, tot_len, frag_len, page_count, mem, rxtx.ffa_vers)
        if isinstance(rc, FfaError):
            return error(rc)
        return args(FfaId.FFA_SUCCESS, 0, rc & MASK32, rc >> 32)

    def _mem_op_rxbuf(self, share, tot_len, frag_len, mem, rx):
        if not rx.rx or frag_len > rx.size:
            return FfaError.DENIED
        # spmc_read_mem_transaction(ffa_vers, buf, blen, frag_len, tot_len): the lengths are
        # passed swapped, so a fragment shorter than the total is INVALID_PARAMETERS.
        return self._add_mem_op(share, _read(mem, rx.rx, rx.size), rx.size, frag_len, tot_len,
                                rx.ffa_vers)

    def _mem_op_tmem(self, share, addr, tot_len, frag_len, page_count, mem, ffa_vers):
        length = page_count * PAGE
        offs = addr % PAGE
        if not ns(addr, length) or length < frag_len or length - offs < frag_len:
            return FfaError.INVALID_PARAMETERS
        if offs:     # core_mmu_map_contiguous_pages needs a page-aligned address
            return FfaError.INVALID_PARAMETERS
        return self._add_mem_op(share, _read(mem, addr, length), length, frag_len, tot_len, ffa_vers)

    def _add_mem_op(self, share, buf, blen, tot_len, frag_len, ffa_vers):
        """spmc_read_mem_transaction + add_mem_op (with tot/frag as the caller passes them)."""
        trans = _read_transaction(ffa_vers, buf, blen, tot_len, frag_len)
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
            if pages + count_n > page_total or not ns(address, count_n * PAGE):
                return FfaError.INVALID_PARAMETERS         # mobj_ffa_add_pages_at
            pages += count_n
        if available != region_count or pages != page_total:
            return FfaError.INVALID_PARAMETERS
        cookie |= HANDLE_NON_SECURE_BIT
        self.shares[cookie] = page_total
        return cookie

    def reclaim(self, xs, mem, rxtx=None):
        """handle_mem_reclaim: x3-x7 MBZ (x5-x7 in full); handle = w2:w1."""
        if any(xs[3:8]):
            return error(FfaError.INVALID_PARAMETERS)
        cookie = ((xs[2] & MASK32) << 32) | (xs[1] & MASK32)
        if self.shares.pop(cookie, None) is None:
            return error(FfaError.INVALID_PARAMETERS)      # TEE_ERROR_ITEM_NOT_FOUND
        return success()

    def frag_tx(self, xs, mem, rxtx=None):
        """handle_mem_frag_tx: no fragmented transaction can be open (see _mem_op_rxbuf)."""
        return error(FfaError.INVALID_PARAMETERS)



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


def _read(mem, address: int, size: int) -> bytes:
    """The descriptor buffer from the guest's memory (OP-TEE maps it from Non-secure RAM)."""
    data = mem.read(address, size)
    if data is None:
        raise FirmwarePanic(f"OP-TEE reads {size:#x} bytes at {address:#x}, outside ffaemu's RAM "
                            "(raise --ram-size)")
    return data
