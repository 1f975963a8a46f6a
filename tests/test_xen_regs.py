"""Xen's FF-A mediator, register by register (Xen RELEASE-4.22.0, xen/arch/arm/tee/ffa*.c).

One VM (domain 0, FF-A ID 1) with sentinels in every register a call does not name.
ffa_private.h ffa_set_regs(): x0-x7 always; x8-x17 zeroed only once the VM has
published a version >= 1.2, else the guest's own values stay. Firmware: tfa-spmd
(2 SPs, 0x8001 and 0x8002), probed by ffa_probe_fw() before the first guest call.
"""
from __future__ import annotations

import struct

import pytest

from hyp_regs import (BUSY_W, DENIED_W, FFA_ERROR, FFA_SUCCESS, FFA_SUCCESS_64, INVAL_W, KEPT,
                      MASK64, NS_W, R, RX, SHARED, TX, descriptor, hvc, last, show, smc)
from ffaemu.regguest import SENTINEL, run_table

FW = "tfa-spmd"
VERSION, FEATURES, ID_GET, RX_RELEASE = 0x8400_0063, 0x8400_0064, 0x8400_0069, 0x8400_0065
RXTX_MAP_64, RXTX_UNMAP, PART_INFO, PART_INFO_REGS = 0xC400_0066, 0x8400_0067, 0x8400_0068, 0xC400_008B
DIRECT_REQ, DIRECT_RESP, MEM_SHARE, MEM_RECLAIM = 0x8400_006F, 0x8400_0070, 0x8400_0073, 0x8400_0077
V12, V11 = [smc(VERSION, 0x10002)], [smc(VERSION, 0x10001)]
MAPPED = V12 + [smc(RXTX_MAP_64, TX, RX, 1)]
GET = smc(PART_INFO, 0, 0, 0, 0, 0)         # nil UUID, descriptors to the VM's RX
VM_ID = 1                                   # ffa_get_vm_id(): domain_id + 1
VM_ENTRY = struct.pack("<HHI", VM_ID, 1, 0x10E).ljust(24, b"\0")   # FFA_PART_VM_PROP | AARCH64


def err(code_w: int, published_12: bool = True) -> list[int]:
    """ffa_set_regs_error(): FFA_ERROR, w2 = the code masked to 32 bits (zero-extended)."""
    return R(FFA_ERROR, 0, code_w, rest="zero" if published_12 else "kept")


CASES = {
    # ffa_negotiate_version: before publication the answer is 1.2 and x8-x17 untouched.
    "VERSION(1.2) first": (V12, R(0x10002, rest="kept")),
    "VERSION(2.0) first: answered 1.2": ([smc(VERSION, 0x20000)], R(0x10002, rest="kept")),
    "ID_GET before any VERSION": ([smc(ID_GET)], err(NS_W, False)),
    # Publication at the first other call; ID_GET = domain_id + 1.
    "ID_GET after VERSION(1.2): x8-x17 zeroed": (V12 + [smc(ID_GET)], R(FFA_SUCCESS, 0, VM_ID)),
    "ID_GET after VERSION(1.1): x8-x17 kept": (V11 + [smc(ID_GET)], R(FFA_SUCCESS, 0, VM_ID, rest="kept")),
    "VERSION after publication: 1.2": (V11 + [smc(ID_GET), smc(VERSION, 0x10000)], R(0x10002, rest="kept")),
    # The SMC64 form of FFA_VERSION is "non-VERSION": it publishes, then hits `default`.
    "VERSION's SMC64 form": (V12 + [smc(0xC400_0063, 0x10002)], err(NS_W)),
    "unhandled FF-A ID (MEM_PERM_GET)": (V12 + [smc(0x8400_0088)], err(NS_W)),
    # vsmc.c: 0x8F is outside is_ffa_fid()'s 0x60..0x8E: unknown, x0 only.
    "ID 0x8F is not FF-A for Xen": (V12 + [smc(0x8400_008F)], KEPT(MASK64)),
    "SMCCC_VERSION answered by Xen": ([smc(0x8000_0000)], KEPT(0x10002)),
    # vsmccc_handle_call serves HVC and SMC alike.
    "FFA_VERSION by HVC": ([hvc(VERSION, 0x10002)], R(0x10002, rest="kept")),
    # handle_features(): Xen's own table; w2-w7 ignored (4992308e97).
    "FEATURES(RXTX_MAP_64), 1.2 guest: max pages in w2[31:16]": (V12 + [smc(FEATURES, RXTX_MAP_64)],
                                                                  R(FFA_SUCCESS, 0, 0x1_0000)),
    "FEATURES(RXTX_MAP_64), 1.1 guest": (V11 + [smc(FEATURES, RXTX_MAP_64)], R(FFA_SUCCESS, rest="kept")),
    "FEATURES(ID_GET) with garbage in x2-x7": (V12 + [smc(FEATURES, ID_GET)], R(FFA_SUCCESS)),
    "FEATURES(RX_ACQUIRE): physical instance only": (V12 + [smc(FEATURES, 0x8400_0084)], err(NS_W)),
    "FEATURES(NOTIF_PEND_INTR): SGI 8": (V12 + [smc(FEATURES, 1)], R(FFA_SUCCESS, 0, 8)),
    "FEATURES(SCHEDULE_RECV_INTR): SGI 9": (V12 + [smc(FEATURES, 2)], R(FFA_SUCCESS, 0, 9)),
    "FEATURES(PARTITION_INFO_GET_REGS), 1.1 guest": (V11 + [smc(FEATURES, PART_INFO_REGS)], err(NS_W, False)),
    "FEATURES(unknown 0x84000091)": (V12 + [smc(FEATURES, 0x8400_0091)], err(NS_W)),
    # ffa_handle_partition_info_get(), count only: SPs from the cache + VMs (the caller
    # counts itself from 1.2 on).
    "PARTITION_INFO_GET count, 1.2 guest": (V12 + [smc(PART_INFO, 0, 0, 0, 0, 1)], R(FFA_SUCCESS, 0, 3)),
    "PARTITION_INFO_GET count, 1.1 guest": (V11 + [smc(PART_INFO, 0, 0, 0, 0, 1)],
                                            R(FFA_SUCCESS, 0, 2, rest="kept")),
    "PARTITION_INFO_GET flags 3": (V12 + [smc(PART_INFO, 0, 0, 0, 0, 3)], err(INVAL_W)),
    "PARTITION_INFO_GET unknown UUID": (V12 + [smc(PART_INFO, 1, 2, 3, 4, 1)], err(INVAL_W)),
    "PARTITION_INFO_GET without RX/TX": (V12 + [smc(PART_INFO, 0, 0, 0, 0, 0)], err(DENIED_W)),
    "PARTITION_INFO_GET": (MAPPED + [smc(PART_INFO, 0, 0, 0, 0, 0)], R(FFA_SUCCESS, 0, 3, 24)),
    "PARTITION_INFO_GET while the VM owns its RX": (MAPPED + [GET, GET], err(BUSY_W)),
    "RX_RELEASE frees it": (MAPPED + [GET, smc(RX_RELEASE), GET], R(FFA_SUCCESS, 0, 3, 24)),
    "RX_RELEASE without a full RX": (MAPPED + [smc(RX_RELEASE)], err(DENIED_W)),
    # ffa_rxtx.c.
    "RXTX_MAP_64": (MAPPED, R(FFA_SUCCESS)),
    "RXTX_MAP (SMC32) ignores x1/x2[63:32]": (V12 + [smc(0x8400_0066, 0xFFFF_0000_0000_0000 | TX,
                                                       0xFFFF_0000_0000_0000 | RX, 1)], R(FFA_SUCCESS)),
    "RXTX_MAP_64 with 2 pages": (V12 + [smc(RXTX_MAP_64, TX, RX, 2)], err(INVAL_W)),
    "RXTX_MAP_64 twice": (MAPPED + [smc(RXTX_MAP_64, TX, RX, 1)], err(DENIED_W)),
    "RXTX_MAP_64 outside guest RAM": (V12 + [smc(RXTX_MAP_64, 0x4000_0000, RX, 1)], err(INVAL_W)),
    "RXTX_UNMAP ignores w1": (MAPPED + [smc(RXTX_UNMAP, 0x1234_5678)], R(FFA_SUCCESS)),
    "RXTX_UNMAP while the VM owns its RX": (MAPPED + [GET, smc(RXTX_UNMAP, 0)], err(DENIED_W)),
    "RXTX_UNMAP without buffers": (V12 + [smc(RXTX_UNMAP, 0)], err(INVAL_W)),
    # ffa_msg.c ffa_handle_msg_send_direct_req(): src must be the caller's ID, dst an SP;
    # the SMC32 answer is masked to 32 bits and set with ffa_set_regs.
    "DIRECT_REQ from ID 0": (V12 + [smc(DIRECT_REQ, 0x8001, 0, 3, 4, 5, 6, 7)], err(INVAL_W)),
    "DIRECT_REQ to itself": (V12 + [smc(DIRECT_REQ, (VM_ID << 16) | VM_ID)], err(INVAL_W)),
    "DIRECT_REQ to a VM": (V12 + [smc(DIRECT_REQ, (VM_ID << 16) | 2)], err(NS_W)),
    "DIRECT_REQ to 0x8001": (V12 + [smc(DIRECT_REQ, (VM_ID << 16) | 0x8001, 0, 3, 4, 5, 6, 7)],
                             R(DIRECT_RESP, (0x8001 << 16) | VM_ID, 0, 3, 4, 5, 6, 7)),
    "DIRECT_REQ2 from a 1.1 guest": (V11 + [smc(0xC400_008D, (VM_ID << 16) | 0x8001)], err(NS_W, False)),
    # ffa_shm.c ffa_handle_mem_share(), Xen's own checks.
    "MEM_SHARE with an address": (MAPPED + [smc(MEM_SHARE, 96, 96, TX, 0)], err(NS_W)),
    "MEM_SHARE fragment > total": (MAPPED + [smc(MEM_SHARE, 64, 96, 0, 0)], err(INVAL_W)),
    "MEM_SHARE fragmented": (MAPPED + [smc(MEM_SHARE, 192, 96, 0, 0)], err(NS_W)),
    "MEM_SHARE without RX/TX": (V12 + [smc(MEM_SHARE, 96, 96, 0, 0)], err(DENIED_W)),
    "MEM_SHARE sender 0 (not the VM's ID)": (MAPPED + [smc(MEM_SHARE, 96, 96, 0, 0)], err(INVAL_W)),
    # `if (frag_len > tx_size) goto out_unlock;` with ret still FFA_RET_OK: SUCCESS, handle 0.
    "MEM_SHARE longer than the TX buffer": (MAPPED + [smc(MEM_SHARE, 0x2000, 0x2000, 0, 0)], R(FFA_SUCCESS)),
    "MEM_RECLAIM of a handle the VM does not hold": (V12 + [smc(MEM_RECLAIM, 1, 0, 0)], err(INVAL_W)),
    # ffa_notif.c, the SPMC's notifications off (fw_notif_enabled false), FFA_VM_TO_VM on.
    "NOTIFICATION_INFO_GET_64: nothing pending": (V12 + [smc(0xC400_0083)], err(0xFFFF_FFF7)),
    "NOTIFICATION_GET for another receiver": (V12 + [smc(0x8400_0082, 5, 0)], err(INVAL_W)),
    "NOTIFICATION_GET": (V12 + [smc(0x8400_0082, VM_ID, 0)], R(FFA_SUCCESS)),
    "NOTIFICATION_BIND": (V12 + [smc(0x8400_007F, (0x8001 << 16) | VM_ID)], err(NS_W)),
    # ffa_msg.c ffa_handle_msg_send2(): the header at TX names src/dst (TX holds the
    # memory descriptor here, whose first word makes src 0).
    "MSG_SEND2 without RX/TX": (V12 + [smc(0x8400_0086)], err(DENIED_W)),
    "MSG_SEND2 from the wrong source": (MAPPED + [smc(0x8400_0086)], err(INVAL_W)),
}


@pytest.mark.parametrize("case", CASES)
def test_xen_registers(case):
    calls, expected = CASES[case]
    if case == "FEATURES(ID_GET) with garbage in x2-x7":
        calls = calls[:-1] + [smc(FEATURES, ID_GET, *(0xFFFF_FFFF_0000_0001 for _ in range(6)))]
    got = last(FW, "xen", calls, {TX: descriptor()})
    assert got == expected, show(got)


def test_xen_partition_info_layout():
    """The VM's RX after FFA_PARTITION_INFO_GET (1.2 guest): the cached SP entries as the
    firmware wrote them (24 bytes), then the caller's own entry (ffa_get_vm_partinfo)."""
    run, results = run_table(FW, "xen", MAPPED + [smc(PART_INFO, 0, 0, 0, 0, 0)])
    rx = run.machine.memory.read(RX, 72)
    assert [int.from_bytes(rx[n:n + 2], "little") for n in (0, 24)] == [0x8001, 0x8002]
    assert rx[48:72] == VM_ENTRY


def test_xen_partition_info_get_regs():
    """ffa_handle_partition_info_get_regs(): SMC64, x2 = size 24 << 48 | tag << 32 |
    last index << 16 | count - 1, then 3 registers per entry in x3-x11, x12-x17 zero.
    The tag starts at 1 and moved to 2 when this VM published."""
    run, results = run_table(FW, "xen", V12 + [smc(PART_INFO_REGS, 0, 0, 0)])
    got = results[-1]
    assert got[:3] == [FFA_SUCCESS_64, 0, (24 << 48) | (2 << 32) | (2 << 16) | 2], show(got)
    assert [v & 0xFFFF for v in got[3:12:3]] == [0x8001, 0x8002, VM_ID]
    assert got[9:12] == [int.from_bytes(VM_ENTRY[i:i + 8], "little") for i in (0, 8, 16)]
    assert got[12:] == [0] * 6
    bad_tag = last(FW, "xen", V12 + [smc(PART_INFO_REGS, 0, 0, 1 << 16)])
    assert bad_tag == err(INVAL_W), show(bad_tag)          # start 0 with a non-zero tag
    retry = last(FW, "xen", V12 + [smc(PART_INFO_REGS, 0, 0, (7 << 16) | 1)])
    assert retry == err(0xFFFF_FFF9), show(retry)           # stale tag: RETRY


def test_xen_without_firmware_ffa():
    """TF-A without an SPMD: ffa_probe_fw() fails. With FFA_VM_TO_VM the mediator still
    serves VMs (no SPs); without it there is no mediator and FF-A is "unknown" (x0 only)."""
    assert last("tfa", "xen", [smc(VERSION, 0x10002), smc(PART_INFO, 0, 0, 0, 0, 1)]) == R(FFA_SUCCESS, 0, 1)
    assert last("tfa", "xen:vm-to-vm=off", [smc(VERSION, 0x10002)]) == KEPT(MASK64, 0x10002)


def test_xen_mem_share_descriptor_sent_to_the_spmc():
    """share_shm(): Xen rebuilds the descriptor in its own TX buffer (sender = the VM's ID,
    normal WB inner-shareable memory, RW, v1.2 EMAD) and sends FFA_MEM_SHARE_64(len, len)."""
    desc = descriptor(sender=VM_ID, perms=0x2)        # FFA_MEM_ACC_RW exactly
    run, results = run_table(FW, "xen", MAPPED + [smc(MEM_SHARE, len(desc), len(desc), 0, 0)], {TX: desc})
    from ffaemu.models.hyp.xen import SPMC_TX
    sent = run.machine.memory.read(SPMC_TX, 48 + 32 + 16 + 16)
    sender, attr, _, _, _, emad_size, count, offs = struct.unpack_from("<HHIQQIII", sent)
    assert (sender, attr, emad_size, count, offs) == (VM_ID, 0x2F, 32, 1, 48)
    assert struct.unpack_from("<HBBI", sent, 48) == (0x8001, 0x2, 0, 80)
    assert struct.unpack_from("<II8xQI", sent, 80) == (1, 1, SHARED, 1)
    assert results[-1][0] in (FFA_SUCCESS, FFA_ERROR) and results[-1][8:] == [0] * 10
    assert SENTINEL not in results[-1]


SEND2 = 0x8400_0086


def send2_header(dst: int, size: int = 4, offset: int = 40) -> bytes:
    """struct ffa_part_msg_rxtx_1_2: flags, reserved, offset, src << 16 | dst, size, ..."""
    return struct.pack("<IIIII4x16s", 0, 0, offset, (VM_ID << 16) | dst, size, bytes(16)) + b"ping"


@pytest.mark.parametrize("dst, offset, expected", [
    (VM_ID, 40, INVAL_W),        # to itself
    (2, 40, INVAL_W),            # no such VM (ffa_endpoint_domain_lookup)
    (0x8001, 40, NS_W),          # to an SP: the SPMC lacks FFA_MSG_SEND2 / RX_ACQUIRE
    (2, 20, INVAL_W),            # a 1.2 guest's offset must cover the v1.2 header (40)
])
def test_xen_msg_send2_checks(dst, offset, expected):
    got = last(FW, "xen", MAPPED + [smc(SEND2)], {TX: send2_header(dst, offset=offset)})
    assert got == err(expected), show(got)


class Req2Firmware:
    """A minimal SPMC for Xen's probe that also answers FFA_MSG_SEND_DIRECT_REQ2 with a
    RESP2 carrying a payload in x4-x17 (what DEN0077 v1.2 §15.x lets an SP return)."""

    PAYLOAD = [0xA5A5_0000_0000_0000 | n for n in range(4, 18)]

    def __init__(self, upper="real", seed=0):
        self.req2 = None

    def __call__(self, trap):
        fid = trap.w(0)
        if fid == 0x8400_0008:                                   # PSCI SYSTEM_OFF
            return trap.stop("system-off")
        if fid == VERSION:
            return trap.ret(0x10002)
        if fid == PART_INFO:                                     # no SPs, 24-byte entries
            return trap.ret(FFA_SUCCESS, 0, 0, 24, 0, 0, 0, 0)
        if fid == 0xC400_008D:
            self.req2 = trap.xs[:18]
            src_dst = trap.w(1)
            return trap.ret(0xC400_008E, (src_dst & 0xFFFF) << 16 | src_dst >> 16, 0, 0, *self.PAYLOAD)
        return trap.ret(FFA_SUCCESS, 0, 0, 0, 0, 0, 0, 0)        # FEATURES, RXTX_MAP, RX_RELEASE


def test_xen_direct_req2_carries_x4_x17(monkeypatch):
    """ffa_handle_msg_send_direct_req(REQ2): x2-x17 forwarded as the guest set them (64-bit),
    and ffa_finish_direct_req_run copies all of x0-x17 of the RESP2 back."""
    from ffaemu.models.fw import FIRMWARE
    monkeypatch.setitem(FIRMWARE._factories, "req2-spmc", (Req2Firmware, "test SPMC"))
    req = smc(0xC400_008D, (VM_ID << 16) | 0x8001)
    run, results = run_table("req2-spmc", "xen", V12 + [smc(FEATURES, 0xC400_008D), req])
    assert results[-2] == R(FFA_SUCCESS), show(results[-2])     # fw supports REQ2, guest 1.2
    assert results[-1] == [0xC400_008E, (0x8001 << 16) | VM_ID, 0, 0, *Req2Firmware.PAYLOAD], \
        show(results[-1])
    assert run.firmware.req2 == req[0]


def test_xen_partition_info_for_a_1_0_guest():
    """A v1.0 guest: 8-byte entries (struct ffa_partition_info_1_0), w3 = 0 (no size in
    1.0), no entry for itself (before 1.2), and the count flag is refused (w5 MBZ in 1.0)."""
    v10 = [smc(VERSION, 0x10000), smc(RXTX_MAP_64, TX, RX, 1)]
    run, results = run_table(FW, "xen", v10 + [GET])
    assert results[-1] == R(FFA_SUCCESS, 0, 2, 0, rest="kept"), show(results[-1])
    rx = run.machine.memory.read(RX, 16)
    assert [int.from_bytes(rx[n:n + 2], "little") for n in (0, 8)] == [0x8001, 0x8002]
    count = last(FW, "xen", v10 + [smc(PART_INFO, 0, 0, 0, 0, 1)])
    assert count == err(INVAL_W, published_12=False), show(count)


def test_xen_over_optee():
    """OP-TEE 4.10 (one SP, 0x8001) and 4.4 (FF-A 1.1, above FFA_MIN_SPMC_VERSION) both
    pass ffa_probe_fw; a 1.2 guest counts the SP and itself."""
    for fw, version in (("optee", 0x10002), ("optee:release=4.4", 0x10001)):
        run, results = run_table(fw, "xen", V12 + [smc(PART_INFO, 0, 0, 0, 0, 1)])
        assert results[-1] == R(FFA_SUCCESS, 0, 2), (fw, show(results[-1]))
        assert run.hypervisor.fw.version == version
