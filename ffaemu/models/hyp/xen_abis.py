"""Xen's FF-A ABIs once a VM has negotiated (xen/arch/arm/tee/ffa*.c at RELEASE-4.22.0).

A mixin of `Xen` (xen.py): each handler takes (trap, dom) and returns the registers Xen
writes, `{n: value}`; handlers that call the firmware are generators.
"""
from __future__ import annotations

import struct

from ...arch.bits import MASK32, MASK64, w
from ...ffa.abi import V1_0, V1_2, FfaError, FfaId
from ...trap import SMCCC_ARG_REGS
from .xen_ffa import (ADDR_RANGE, COUNT_FLAG, DIRECT_ANSWERS, FEATURE_NOTIF_PEND_INTR,
                      FEATURE_SCHEDULE_RECV_INTR, FEATURES_ALWAYS, FEATURES_IF_FW, FEATURES_NEVER,
                      MAX_RXTX_PAGES, MAX_SHM_COUNT, MAX_SHM_PAGES, MEM_ACC_RW, MEM_ACCESS,
                      MEM_ACCESS_1_2_SIZE, MEM_ATTR_NS, MEM_REGION, MEM_TRANSACTION_1_0,
                      MEM_TRANSACTION_1_1, NORMAL_MEM_REG_ATTR, NOTIF_PEND_INTR_ID, PAGE,
                      PARTINFO_1_0, PARTINFO_1_1_SIZE, PARTINFO_REG_MAX, RXTX_DESC,
                      SCHEDULE_RECV_INTR_ID, SECURE_ID, SEND2_HEADER_1_1_SIZE, SEND2_HEADER_1_2, Mailbox, masked, pack_regs,
                      partinfo_regs_word2, ret_code, sp_entry, sp_matches, uuid_bytes, vm_entry)


class XenAbis:
    """ffa_handle_call()'s cases, minus negotiation (which is in xen.py)."""

    # ffa.c ----------------------------------------------------------------------------
    def _features(self, trap, dom):
        """ffa.c handle_features(): answered by Xen from its own table; w2-w7 ignored."""
        a1, fw = trap.w(1), self.fw
        if self.features_args == "check" and any(trap.x(n) for n in range(2, 8)):
            return self.error(dom, FfaError.NOT_SUPPORTED)       # before 4992308e97
        if a1 in FEATURES_NEVER:
            return self.error(dom, FfaError.NOT_SUPPORTED)
        if a1 in FEATURES_ALWAYS:
            return self.success(dom)
        if a1 in FEATURES_IF_FW:
            return self.success(dom) if fw.supports(a1) else self.error(dom, FfaError.NOT_SUPPORTED)
        if a1 == FfaId.FFA_MSG_SEND2:
            ok = self.vm_to_vm or (fw.supports(FfaId.FFA_MSG_SEND2) and fw.supports(FfaId.FFA_RX_ACQUIRE))
            return self.success(dom) if ok else self.error(dom, FfaError.NOT_SUPPORTED)
        if a1 == FfaId.FFA_MSG_SEND_DIRECT_REQ2:
            ok = dom.guest_vers >= V1_2 and fw.supports(FfaId.FFA_MSG_SEND_DIRECT_REQ2)
            return self.success(dom) if ok else self.error(dom, FfaError.NOT_SUPPORTED)
        if a1 in (FfaId.FFA_MEM_SHARE, FfaId.FFA_MEM_SHARE_64):
            ok = fw.supports(FfaId.FFA_MEM_SHARE_64)       # w2 bit 0 = 0: no dynamic buffers
            return self.success(dom) if ok else self.error(dom, FfaError.NOT_SUPPORTED)
        if a1 in (FfaId.FFA_RXTX_MAP, FfaId.FFA_RXTX_MAP_64):
            # w2[1:0] = 0: 4 KiB; from v1.2, w2[31:16] = the maximum page count.
            return self.success(dom, 0 if dom.guest_vers < V1_2 else MAX_RXTX_PAGES << 16)
        if a1 == FEATURE_NOTIF_PEND_INTR:
            return self.success(dom, NOTIF_PEND_INTR_ID)
        if a1 == FEATURE_SCHEDULE_RECV_INTR:
            return self.success(dom, SCHEDULE_RECV_INTR_ID)
        if a1 == FfaId.FFA_PARTITION_INFO_GET_REGS:
            return self.success(dom) if dom.guest_vers >= V1_2 else self.error(dom, FfaError.NOT_SUPPORTED)
        return self.error(dom, FfaError.NOT_SUPPORTED)

    # ffa_partinfo.c -------------------------------------------------------------------
    def _vm_count(self) -> int:
        """get_ffa_vm_count(): VMs that published (FFA_VM_TO_VM), else just the caller."""
        return sum(d.listed for d in self.domains) if self.vm_to_vm else 1

    def _vm_entries(self, dom, uuid: bytes, start: int, size: int) -> list[bytes]:
        """ffa_get_vm_partinfo(): the caller first (only for v1.2+ callers), then the listed
        VMs in publication order; none for a non-nil UUID."""
        if uuid != bytes(16):
            return []
        vms = [dom] if dom.guest_vers >= V1_2 else []
        if self.vm_to_vm:
            vms += [d for d in self.vm_list if d is not dom]
        return [vm_entry(d.ffa_id, d.vcpus, size) for d in vms[start:]]

    def _partition_info_get(self, trap, dom):
        """ffa_handle_partition_info_get(): answered from the SP cache and the VM list."""
        flags = trap.w(5)
        uuid = uuid_bytes((trap.x(1), trap.x(2), trap.x(3), trap.x(4)))
        v10 = dom.guest_vers == V1_0
        size = PARTINFO_1_0.size if v10 else PARTINFO_1_1_SIZE
        sps = [e for e in self.fw.sp_list if sp_matches(e, uuid)] \
            if self.fw.supports(FfaId.FFA_PARTITION_INFO_GET) else []
        if self.fw.supports(FfaId.FFA_PARTITION_INFO_GET) and uuid != bytes(16) and not sps:
            bad_uuid = True
        else:
            bad_uuid = False
        if flags:                                          # count only
            if v10 or flags != COUNT_FLAG or bad_uuid:
                return self.error(dom, FfaError.INVALID_PARAMETERS)
            vms = 0
            if uuid == bytes(16):
                vms = self._vm_count() - (1 if dom.guest_vers < V1_2 else 0)
            return self.success(dom, w(len(sps) + vms), 0)
        ret = yield from self._rx_acquire(trap, dom)
        if ret:
            return self.error(dom, ret)
        if bad_uuid:
            yield from self._rx_release(trap, dom)
            return self.error(dom, FfaError.INVALID_PARAMETERS)
        entries = [sp_entry(e, size, uuid) for e in sps] + self._vm_entries(dom, uuid, 0, size)
        blob = b"".join(entries)
        if len(blob) > dom.mailbox.page_count * PAGE:
            yield from self._rx_release(trap, dom)
            return self.error(dom, FfaError.NO_MEMORY)
        trap.mem.write(dom.mailbox.rx, blob)
        return self.success(dom, len(entries), 0 if v10 else size)

    def _partition_info_get_regs(self, trap, dom):
        """ffa_handle_partition_info_get_regs(): up to 5 entries in x3-x17, SMC64."""
        if dom.guest_vers < V1_2:
            return self.error(dom, FfaError.NOT_SUPPORTED)
        x3 = trap.x(3)
        start, tag = x3 & 0xFFFF, (x3 >> 16) & 0xFFFF
        if start > 0xFFFF - (PARTINFO_REG_MAX - 1):
            return self.error(dom, FfaError.INVALID_PARAMETERS)
        uuid = trap.x(1).to_bytes(8, "little") + trap.x(2).to_bytes(8, "little")
        tag_out = self.partinfo_tag()
        if (start == 0 and tag) or (start and tag != tag_out):
            return self.error(dom, FfaError.INVALID_PARAMETERS if start == 0 else FfaError.RETRY)
        vms = (self._vm_count() if self.vm_to_vm else 1) if uuid == bytes(16) else 0
        sps = [e for e in self.fw.sp_list if sp_matches(e, uuid)]
        if uuid != bytes(16) and not sps:
            return self.error(dom, FfaError.INVALID_PARAMETERS)
        total = len(sps) + vms
        if total == 0 or start >= total:
            return self.error(dom, FfaError.INVALID_PARAMETERS)
        entries = [sp_entry(e, PARTINFO_1_1_SIZE, uuid) for e in sps[start:start + PARTINFO_REG_MAX]]
        if len(entries) < PARTINFO_REG_MAX:
            vm_start = start - len(sps) if start > len(sps) else 0
            entries += self._vm_entries(dom, uuid, vm_start, PARTINFO_1_1_SIZE)
            entries = entries[:PARTINFO_REG_MAX]
        if not entries:
            return self.error(dom, FfaError.INVALID_PARAMETERS)
        regs = [FfaId.FFA_SUCCESS_64, 0, partinfo_regs_word2(start, len(entries), total, tag_out)]
        regs += pack_regs(entries)
        return dict(enumerate(regs + [0] * (SMCCC_ARG_REGS - len(regs))))
        yield                                               # a generator like the others

    # ffa_rxtx.c -----------------------------------------------------------------------
    def _rxtx_map(self, trap, dom, smc64: bool):
        """ffa_handle_rxtx_map(): one 4 KiB page each; mapped at the SPMC only when it
        supports FFA_RX_ACQUIRE (a descriptor in Xen's TX buffer, FFA_RXTX_MAP_64(0, 0, 0))."""
        tx, rx, pages = trap.x(1), trap.x(2), trap.w(3)
        if not smc64:                              # SMC32: ignore bits [63:32]
            tx, rx = tx & MASK32, rx & MASK32
        if pages > MAX_RXTX_PAGES or not pages or tx % PAGE or rx % PAGE:
            return FfaError.INVALID_PARAMETERS
        if dom.mailbox is not None:
            return FfaError.DENIED
        if not (self.guest_ram(tx, PAGE) and self.guest_ram(rx, PAGE)):
            return FfaError.INVALID_PARAMETERS     # get_page_from_gfn / p2m_ram_rw
        if self.fw.supports(FfaId.FFA_RX_ACQUIRE):
            rx_offs = RXTX_DESC.size + (-RXTX_DESC.size % 8)
            tx_offs = rx_offs + MEM_REGION.size + ADDR_RANGE.size
            desc = bytearray(tx_offs + MEM_REGION.size + ADDR_RANGE.size)
            RXTX_DESC.pack_into(desc, 0, dom.ffa_id, 0, rx_offs, tx_offs)
            for offs, addr in ((rx_offs, rx), (tx_offs, tx)):
                MEM_REGION.pack_into(desc, offs, 1, 1)
                ADDR_RANGE.pack_into(desc, offs + MEM_REGION.size, addr, 1)
            trap.mem.write(self.spmc_tx, bytes(desc))
            ret = ret_code((yield from self.smc(trap, FfaId.FFA_RXTX_MAP_64, 0, 0, 0)))
            if ret:
                return ret
        dom.mailbox = Mailbox(tx, rx, pages)
        return 0

    def _rxtx_unmap(self, trap, dom):
        """rxtx_unmap(d, false): w1 is not looked at; DENIED while the VM owns its RX."""
        box = dom.mailbox
        if box is None:
            return FfaError.INVALID_PARAMETERS
        if not box.rx_is_free:
            return FfaError.DENIED
        if self.fw.supports(FfaId.FFA_RX_ACQUIRE):
            ret = ret_code((yield from self.smc(trap, FfaId.FFA_RXTX_UNMAP, dom.ffa_id << 16)))
            if ret:
                return ret
        dom.mailbox = None
        return 0

    def _rx_acquire(self, trap, dom):
        """ffa_rx_acquire(): DENIED without buffers, BUSY while the VM owns its RX."""
        box = dom.mailbox
        if box is None:
            return FfaError.DENIED
        if not box.rx_is_free:
            return FfaError.BUSY
        if self.fw.supports(FfaId.FFA_RX_ACQUIRE):
            ret = ret_code((yield from self.smc(trap, FfaId.FFA_RX_ACQUIRE, dom.ffa_id)))
            if ret:
                return ret
        box.rx_is_free = False
        return 0

    def _rx_release(self, trap, dom):
        """ffa_rx_release()."""
        box = dom.mailbox
        if box is None or box.rx_is_free:
            return FfaError.DENIED
        if self.fw.supports(FfaId.FFA_RX_ACQUIRE):
            ret = ret_code((yield from self.smc(trap, FfaId.FFA_RX_RELEASE, dom.ffa_id)))
            if ret:
                return ret
        box.rx_is_free = True
        return 0

    # ffa_msg.c ------------------------------------------------------------------------
    def _direct_req(self, trap, dom, fid: int):
        """ffa_handle_msg_send_direct_req(): src must be the caller's VM ID, dst an SP."""
        if not self.fw.supports(fid):
            return self.error(dom, FfaError.NOT_SUPPORTED)
        src_dst = trap.w(1)
        if src_dst >> 16 != dom.ffa_id or src_dst & 0xFFFF == dom.ffa_id:
            return self.error(dom, FfaError.INVALID_PARAMETERS)
        if not src_dst & SECURE_ID:
            return self.error(dom, FfaError.NOT_SUPPORTED)
        mask = MASK64 if fid & (1 << 30) else MASK32
        args = [fid, src_dst] + [trap.x(n) & mask for n in range(2, 8)]
        if fid == FfaId.FFA_MSG_SEND_DIRECT_REQ2:
            args += [trap.x(n) for n in range(8, SMCCC_ARG_REGS)]
        return (yield from self._finish_direct_req_run(trap, dom, args))

    def _run(self, trap, dom, fid: int):
        """ffa_handle_run(): only to secure endpoints (w1[31:16])."""
        if not self.fw.supports(fid):
            return self.error(dom, FfaError.NOT_SUPPORTED)
        dst = trap.w(1)
        if not (dst >> 16) & SECURE_ID:
            return self.error(dom, FfaError.NOT_SUPPORTED)
        return (yield from self._finish_direct_req_run(trap, dom, [fid, dst]))

    def _finish_direct_req_run(self, trap, dom, args: list[int]):
        """ffa_finish_direct_req_run(): RESP2 copies x0-x17; the other expected answers
        are masked to their own convention and set with ffa_set_regs; else ABORTED."""
        res = yield from self.smc(trap, *args)
        if res[0] == FfaId.FFA_MSG_SEND_DIRECT_RESP2:
            return dict(enumerate(res[:SMCCC_ARG_REGS]))
        if res[0] not in DIRECT_ANSWERS:
            return self.error(dom, FfaError.ABORTED)
        return self.set_regs(dom, *masked(res))

    # ffa_shm.c ------------------------------------------------------------------------
    def _mem_share(self, trap, dom):
        """ffa_handle_mem_share(): one SP borrower, normal RW memory, one fragment; Xen
        rebuilds the descriptor in its own TX buffer and sends FFA_MEM_SHARE_64."""
        ret = yield from self._mem_share_checked(trap, dom)
        if isinstance(ret, tuple):
            return self.success(dom, ret[0], ret[1])
        return self.error(dom, ret)

    def _mem_share_checked(self, trap, dom):
        tot_len, frag_len, addr = trap.w(1), trap.w(2), trap.x(3)
        if not self.fw.supports(FfaId.FFA_MEM_SHARE_64) or addr:
            return FfaError.NOT_SUPPORTED
        if frag_len > tot_len:
            return FfaError.INVALID_PARAMETERS
        if frag_len != tot_len:
            return FfaError.NOT_SUPPORTED
        box = dom.mailbox
        if box is None:                                # ffa_tx_acquire
            return FfaError.DENIED
        if frag_len > box.page_count * PAGE:
            return (0, 0)       # `goto out_unlock` with ret still FFA_RET_OK: SUCCESS, handle 0
        buf = trap.mem.read(box.tx, frag_len) or bytes(frag_len)
        trans = _read_mem_transaction(dom.guest_vers, buf)
        if isinstance(trans, int):
            return trans
        sender, attr, count, size, offs = trans
        if attr & MEM_ATTR_NS:
            return FfaError.INVALID_PARAMETERS
        if attr != NORMAL_MEM_REG_ATTR or count != 1:
            return FfaError.NOT_SUPPORTED
        if sender != dom.ffa_id or size < MEM_ACCESS.size:
            return FfaError.INVALID_PARAMETERS
        if offs + size > frag_len:
            return (0, 0)       # as above (unreachable after read_mem_transaction's check)
        dst, perm, _, region_offs = MEM_ACCESS.unpack_from(buf, offs)
        if not dst & SECURE_ID or perm != MEM_ACC_RW or MEM_REGION.size + region_offs > frag_len:
            return FfaError.NOT_SUPPORTED
        page_count, range_count = MEM_REGION.unpack_from(buf, region_offs)
        if not page_count:
            return FfaError.INVALID_PARAMETERS
        if page_count > MAX_SHM_PAGES or len(dom.shm) >= MAX_SHM_COUNT:
            return FfaError.NO_MEMORY                 # alloc_ffa_shm_mem
        if MEM_REGION.size + region_offs + range_count * ADDR_RANGE.size > frag_len:
            return FfaError.INVALID_PARAMETERS
        pages = _shm_pages(self, buf, region_offs + MEM_REGION.size, range_count, page_count)
        if isinstance(pages, int):
            return pages
        impdef = buf[offs + 8:offs + 24] if size >= MEM_ACCESS_1_2_SIZE else bytes(16)
        desc = _share_descriptor(dom.ffa_id, dst, impdef, pages, self.fw.version)
        if len(desc) > PAGE:
            return FfaError.NOT_SUPPORTED
        trap.mem.write(self.spmc_tx, desc)
        res = yield from self.smc(trap, FfaId.FFA_MEM_SHARE_64, len(desc), len(desc))
        if res[0] == FfaId.FFA_SUCCESS:                # ffa_spmc_share
            handle = regpair_to_uint64(res[3], res[2])
        elif res[0] == FfaId.FFA_ERROR:
            return _s32(res[2]) if res[2] else FfaError.NOT_SUPPORTED
        else:
            return FfaError.NOT_SUPPORTED
        dom.shm[handle] = pages
        return (w(handle), handle >> 32)

    def _mem_reclaim(self, trap, dom):
        """ffa_handle_mem_reclaim(): only handles this VM shared; forwarded to the SPMC."""
        if not self.fw.supports(FfaId.FFA_MEM_RECLAIM):
            return FfaError.NOT_SUPPORTED
        handle = regpair_to_uint64(trap.x(2), trap.x(1))
        if handle not in dom.shm:
            return FfaError.INVALID_PARAMETERS
        ret = ret_code((yield from self.smc(trap, FfaId.FFA_MEM_RECLAIM, w(handle), handle >> 32,
                                            trap.w(3))))
        if not ret:
            del dom.shm[handle]
        return ret

    # ffa_notif.c (the firmware's notifications are off: fw_notif_enabled is false) ----
    def _notification(self, trap, dom, fid: int):
        if fid in (FfaId.FFA_NOTIFICATION_INFO_GET, FfaId.FFA_NOTIFICATION_INFO_GET_64):
            if not self.vm_to_vm:
                return self.error(dom, FfaError.NOT_SUPPORTED)
            return self.error(dom, FfaError.NO_DATA)          # nothing pending
        if fid == FfaId.FFA_NOTIFICATION_GET:
            if not self.vm_to_vm:
                return self.error(dom, FfaError.NOT_SUPPORTED)
            if trap.w(1) & 0xFFFF != dom.ffa_id:
                return self.error(dom, FfaError.INVALID_PARAMETERS)
            return self.set_regs(dom, FfaId.FFA_SUCCESS)
        return self.error(dom, FfaError.NOT_SUPPORTED)        # BIND, UNBIND, SET

    def _msg_send2(self, trap, dom):
        """ffa_msg.c ffa_handle_msg_send2(): the header in the VM's TX buffer names
        src (must be the caller) and dst; to an SP it is relayed (needs SEND2 and
        RX_ACQUIRE at the SPMC), to a VM copied into its RX (ffa_msg_send2_vm)."""
        box = dom.mailbox
        if box is None:                                       # ffa_tx_acquire
            return FfaError.DENIED
        tx_size = box.page_count * PAGE
        head = trap.mem.read(box.tx, SEND2_HEADER_1_2.size) or bytes(SEND2_HEADER_1_2.size)
        _, _, offset, send_recv, size, _, uuid = SEND2_HEADER_1_2.unpack(head)
        src, dst = send_recv >> 16, send_recv & 0xFFFF
        if src != dom.ffa_id or dst == dom.ffa_id:
            return FfaError.INVALID_PARAMETERS
        if dom.guest_vers < V1_2:
            if offset < SEND2_HEADER_1_1_SIZE:
                return FfaError.INVALID_PARAMETERS
            uuid = bytes(16)                                  # nil UUID for v1.1 guests
        elif offset < SEND2_HEADER_1_2.size:
            return FfaError.INVALID_PARAMETERS
        if not size or offset > tx_size or size > tx_size - offset:
            return FfaError.INVALID_PARAMETERS
        if dst & SECURE_ID:
            if not (self.fw.supports(FfaId.FFA_MSG_SEND2) and self.fw.supports(FfaId.FFA_RX_ACQUIRE)):
                return FfaError.NOT_SUPPORTED
            return ret_code((yield from self.smc(trap, FfaId.FFA_MSG_SEND2, dom.ffa_id << 16)))
        if not self.vm_to_vm:
            return FfaError.INVALID_PARAMETERS
        target = self.endpoint_domain(dst, dom)
        if target is None:
            return FfaError.INVALID_PARAMETERS
        ret = yield from self._rx_acquire(trap, target)
        if ret:
            return ret
        rx_size = target.mailbox.page_count * PAGE
        if rx_size - SEND2_HEADER_1_2.size < size:
            yield from self._rx_release(trap, target)
            return FfaError.NO_MEMORY
        payload = trap.mem.read(box.tx + offset, size) or bytes(size)
        header = SEND2_HEADER_1_2.pack(0, 0, SEND2_HEADER_1_2.size, send_recv, size, 0, uuid)
        trap.mem.write(target.mailbox.rx, header + payload)
        return 0

    def endpoint_domain(self, ffa_id: int, caller):
        """ffa.c ffa_endpoint_domain_lookup(): another live domain that has negotiated."""
        if ffa_id == 0 or ffa_id - 1 >= len(self.domains):
            return None
        target = self.domains[ffa_id - 1]
        return target if target is not caller and target.guest_vers else None

def regpair_to_uint64(reg0: int, reg1: int) -> int:
    """asm/regs.h regpair_to_uint64(): reg0 (all 64 bits) << 32 | (u32)reg1."""
    return ((reg0 << 32) | w(reg1)) & MASK64


def _s32(value: int) -> int:
    value &= MASK32
    return value - (1 << 32) if value >> 31 else value


def _read_mem_transaction(vers: int, buf: bytes):
    """ffa_shm.c read_mem_transaction(): (sender, attr, count, size, offs) or an error."""
    if vers >= 0x10001:
        if len(buf) < MEM_TRANSACTION_1_1.size:
            return FfaError.INVALID_PARAMETERS
        sender, attr, flags, _, _, size, count, offs = MEM_TRANSACTION_1_1.unpack_from(buf)
    else:
        if len(buf) < 32:
            return FfaError.INVALID_PARAMETERS
        sender, attr, flags, _, _, count = MEM_TRANSACTION_1_0.unpack_from(buf)
        size, offs = MEM_ACCESS.size, 32
    if attr > 0xFF or flags > 0xFF or size > 0xFF or count > 0xFF or offs > 0xFFFF:
        return FfaError.INVALID_PARAMETERS
    if size * count + offs > len(buf) or size < MEM_ACCESS.size or offs & 0xF:
        return FfaError.INVALID_PARAMETERS
    return sender, attr, count, size, offs


def _shm_pages(xen, buf: bytes, at: int, range_count: int, page_count: int):
    """ffa_shm.c get_shm_pages(): the 4 KiB pages, which must add up to `page_count`."""
    pages = []
    for n in range(range_count):
        addr, count = ADDR_RANGE.unpack_from(buf, at + n * ADDR_RANGE.size)
        if addr % PAGE:
            return FfaError.INVALID_PARAMETERS
        for m in range(count):
            if len(pages) >= page_count or addr + m * PAGE > MASK64:
                return FfaError.INVALID_PARAMETERS
            if not xen.guest_ram(addr + m * PAGE, PAGE):
                return FfaError.DENIED
            pages.append(addr + m * PAGE)
    if len(pages) < page_count:
        return FfaError.INVALID_PARAMETERS
    return pages


def _share_descriptor(sender: int, dst: int, impdef: bytes, pages: list[int], fw_version: int) -> bytes:
    """ffa_shm.c share_shm(): v1.1 header, one access descriptor (v1.2 form when the
    firmware speaks 1.2), contiguous pages merged into ranges (IPA = PA here)."""
    size = MEM_ACCESS_1_2_SIZE if fw_version >= V1_2 else MEM_ACCESS.size
    offs = MEM_TRANSACTION_1_1.size
    region = offs + size
    ranges: list[list[int]] = []
    for pa in pages:
        if ranges and ranges[-1][0] + ranges[-1][1] * PAGE == pa:
            ranges[-1][1] += 1
        else:
            ranges.append([pa, 1])
    out = bytearray(region + MEM_REGION.size + len(ranges) * ADDR_RANGE.size)
    MEM_TRANSACTION_1_1.pack_into(out, 0, sender, NORMAL_MEM_REG_ATTR, 0, 0, 0, size, 1, offs)
    struct.pack_into("<HBBI", out, offs, dst, MEM_ACC_RW, 0, region)
    if size == MEM_ACCESS_1_2_SIZE:
        out[offs + 8:offs + 24] = impdef
    MEM_REGION.pack_into(out, region, len(pages), len(ranges))
    for n, (pa, count) in enumerate(ranges):
        ADDR_RANGE.pack_into(out, region + MEM_REGION.size + n * ADDR_RANGE.size, pa, count)
    return bytes(out)
