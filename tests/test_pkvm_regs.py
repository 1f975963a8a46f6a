"""pKVM's FF-A proxy, register by register (Linux v6.18 arch/arm64/kvm/hyp/nvhe/ffa.c).

Every call is made with sentinels in the registers it does not name (regguest.py), so
each row shows what pKVM writes (`ffa_set_retval`: x0-x17 from `res`), zeroes (the
rest of a `res` built by ffa_to_smccc_error/res or sent with a designated initialiser)
or passes back from EL3 (`__kvm_hyp_host_forward_smc`: x0-x17). Firmware: tfa-spmd.
"""
from __future__ import annotations

import struct

import pytest

from hyp_regs import (BUSY_W, DENIED_W, FFA_ERROR, FFA_SUCCESS, INVAL_W, KEPT, MASK64, NOMEM_W,
                      NS_W, R, RX, SHARED, TX, descriptor, hvc, last, sext, show, smc)
from ffaemu.regguest import run_table

FW = "tfa-spmd"
INIT = hvc(0xC600_0001)
VERSION, FEATURES, ID_GET, RXTX_MAP_64, RXTX_UNMAP = 0x8400_0063, 0x8400_0064, 0x8400_0069, 0xC400_0066, 0x8400_0067
PART_INFO, MEM_SHARE, MEM_SHARE_64, MEM_RECLAIM = 0x8400_0068, 0x8400_0073, 0xC400_0073, 0x8400_0077
NEGOTIATED = [INIT, smc(VERSION, 0x10002)]
MAPPED = NEGOTIATED + [smc(RXTX_MAP_64, TX, RX, 1)]
DESC = descriptor()
SHARE = smc(MEM_SHARE, len(DESC), len(DESC), 0, 0)
ERR_NS, ERR_INVAL = R(FFA_ERROR, 0, sext(NS_W)), R(FFA_ERROR, 0, sext(INVAL_W))

CASES = {
    # ffaemu's KVM-style init hypercall: x0 = 0 (hyp_ffa_init succeeded), nothing else written.
    "init hypercall": ([INIT], KEPT(0)),
    # handle_host_hcall: an unknown hypercall gets SMCCC_RET_NOT_SUPPORTED in x0 only.
    "FFA_VERSION by HVC is not FF-A for pKVM": ([INIT, hvc(VERSION, 0x10002)], KEPT(MASK64, 0x10002)),
    # do_ffa_version: only res->a0 is set; a1-a17 are an uninitialised local, zero with
    # the default CONFIG_INIT_STACK_ALL_ZERO (security/Kconfig.hardening).
    "VERSION(1.2)": (NEGOTIATED, R(0x10002)),
    "VERSION(2.0): major != 1, NOT_SUPPORTED as a 64-bit -1": ([INIT, smc(VERSION, 0x20000)], R(MASK64)),
    "VERSION(1.1) after 1.2 was negotiated: refused (f41426939244)":
        (NEGOTIATED + [smc(VERSION, 0x10001)], R(MASK64)),
    # kvm_host_ffa_handler: `func_id != FFA_VERSION && !has_version_negotiated`.
    "ID_GET before negotiation": ([INIT, smc(ID_GET)], ERR_INVAL),
    "VERSION's SMC64 form is not FFA_VERSION": ([INIT, smc(0xC400_0063, 0x10002)], ERR_INVAL),
    # Passed through: EL3's x0-x7 (Hafnium-like: SUCCESS, ID 0) and the host's x8-x17,
    # which EL3 left alone and __kvm_hyp_host_forward_smc copies back.
    "ID_GET passes through": (NEGOTIATED + [smc(ID_GET)], R(FFA_SUCCESS, rest="kept")),
    "x0[63:32] is ignored (u32 func_id)": (NEGOTIATED + [smc(0xDEAD_0000_8400_0069)], R(FFA_SUCCESS, rest="kept")),
    # is_ffa_call: 0x60..FFA_MAX_FUNC_NUM (0xFF): gated before negotiation, passed after.
    "unknown ID 0xFF in the FF-A range, before negotiation": ([INIT, smc(0x8400_00FF)], ERR_INVAL),
    "unknown ID 0xFF after negotiation reaches EL3 (SMCCC unknown)": (NEGOTIATED + [smc(0x8400_00FF)], KEPT(MASK64)),
    # do_ffa_features: deny list -> NOT_SUPPORTED; MEM_SHARE/LEND -> SUCCESS, w2 = 0 at EL2.
    "FEATURES(MEM_SHARE_64) at EL2": (NEGOTIATED + [smc(FEATURES, MEM_SHARE_64)], R(FFA_SUCCESS)),
    "FEATURES(MEM_LEND)": (NEGOTIATED + [smc(FEATURES, 0x8400_0072)], R(FFA_SUCCESS)),
    "FEATURES(NOTIFICATION_BIND) denied": (NEGOTIATED + [smc(FEATURES, 0x8400_007F)], ERR_NS),
    "FEATURES(ID_GET) passes through": (NEGOTIATED + [smc(FEATURES, ID_GET)], R(FFA_SUCCESS, rest="kept")),
    # ffa_call_supported() deny list.
    "MSG_SEND_DIRECT_REQ2 denied": (NEGOTIATED + [smc(0xC400_008D, 0x8001)], ERR_NS),
    "PARTITION_INFO_GET_REGS denied": (NEGOTIATED + [smc(0xC400_008B)], ERR_NS),
    "RXTX_MAP (SMC32) denied": (NEGOTIATED + [smc(0x8400_0066, TX, RX, 1)], ERR_NS),
    "MEM_DONATE denied": (NEGOTIATED + [smc(0x8400_0071)], ERR_NS),
    "NOTIFICATION_INFO_GET (SMC32) denied": (NEGOTIATED + [smc(0x8400_0083)], ERR_NS),
    "MSG_SEND_DIRECT_RESP (SMC32) denied": (NEGOTIATED + [smc(0x8400_0070)], ERR_NS),
    # do_ffa_rxtx_map / do_ffa_rxtx_unmap.
    "RXTX_MAP_64": (MAPPED, R(FFA_SUCCESS)),
    "RXTX_MAP_64 with 2 pages": (NEGOTIATED + [smc(RXTX_MAP_64, TX, RX, 2)], ERR_INVAL),
    "RXTX_MAP_64 misaligned": (NEGOTIATED + [smc(RXTX_MAP_64, TX + 8, RX, 1)], ERR_INVAL),
    "RXTX_MAP_64 twice": (MAPPED + [smc(RXTX_MAP_64, TX, RX, 1)], R(FFA_ERROR, 0, sext(DENIED_W))),
    "RXTX_MAP_64 of hypervisor memory": (NEGOTIATED + [smc(RXTX_MAP_64, 0x4000_0000, RX, 1)], ERR_INVAL),
    "RXTX_UNMAP(0)": (MAPPED + [smc(RXTX_UNMAP, 0)], R(FFA_SUCCESS)),
    "RXTX_UNMAP: w1 must be HOST_FFA_ID as a whole": (MAPPED + [smc(RXTX_UNMAP, 0x1_0000)], ERR_INVAL),
    "RXTX_UNMAP without buffers": (NEGOTIATED + [smc(RXTX_UNMAP, 0)], ERR_INVAL),
    # __do_ffa_mem_xfer checks, in their order.
    "MEM_SHARE without buffers": (NEGOTIATED + [SHARE], ERR_INVAL),
    "MEM_SHARE with an address in x3": (MAPPED + [smc(MEM_SHARE, len(DESC), len(DESC), TX, 0)], ERR_INVAL),
    "MEM_SHARE fragment shorter than region + one EMAD (80)": (MAPPED + [smc(MEM_SHARE, 64, 64, 0, 0)], ERR_INVAL),
    "MEM_SHARE longer than ffa_desc_buf": (MAPPED + [smc(MEM_SHARE, 0x20000, len(DESC), 0, 0)],
                                           R(FFA_ERROR, 0, sext(NOMEM_W))),
    # do_ffa_part_get: BUSY without the host's RX buffer.
    "PARTITION_INFO_GET without buffers": (NEGOTIATED + [smc(PART_INFO, 0, 0, 0, 0, 1)],
                                           R(FFA_ERROR, 0, sext(BUSY_W))),
}


@pytest.mark.parametrize("case", CASES)
def test_pkvm_registers(case):
    calls, expected = CASES[case]
    got = last(FW, "pkvm", calls, {TX: DESC})
    assert got == expected, show(got)


MEM_CASES = {
    # __do_ffa_mem_xfer: sender must be HOST_FFA_ID; ranges the host does not own, or
    # already shares, fail in ffa_host_share_ranges with DENIED.
    "sender 1": ({TX: descriptor(sender=1)}, [SHARE], ERR_INVAL),
    "page in hypervisor memory": ({TX: descriptor(address=0x4000_0000)}, [SHARE],
                                  R(FFA_ERROR, 0, sext(DENIED_W))),
    "the same page twice": ({TX: DESC}, [SHARE, SHARE], R(FFA_ERROR, 0, sext(DENIED_W))),
}


@pytest.mark.parametrize("case", MEM_CASES)
def test_pkvm_mem_share_checks(case):
    memory, calls, expected = MEM_CASES[case]
    got = last(FW, "pkvm", MAPPED + calls, memory)
    assert got == expected, show(got)


def test_mem_share_and_reclaim_through_pkvm():
    """MEM_SHARE (SMC32) goes to EL3 as FFA_FN64_MEM_SHARE(len, fraglen) with x3-x17
    zero, so x4-x17 come back zero; MEM_RECLAIM takes the hypervisor-retrieve path
    (do_ffa_mem_reclaim) and the page is the host's again (a second share works)."""
    run, results = run_table(FW, "pkvm", MAPPED + [SHARE], {TX: DESC})
    share = results[-1]
    assert share[0] == FFA_SUCCESS and share[1] == 0 and share[4:] == [0] * 14, show(share)
    assert run.hypervisor.shared_pages == {SHARED}
    lo, hi = share[2], share[3]
    run, results = run_table(FW, "pkvm", MAPPED + [SHARE, smc(MEM_RECLAIM, lo, hi, 0), SHARE], {TX: DESC})
    assert results[-2] == R(FFA_SUCCESS), show(results[-2])
    assert results[-1][0] == FFA_SUCCESS, show(results[-1])


def test_partition_info_copied_to_the_host_rx():
    """do_ffa_part_get: forwarded with w1-w5 only (x6-x17 zero), EL3's answer returned,
    the descriptors copied from the hypervisor's RX to the host's, at the size EL3 gave
    in w3 (Hafnium v2.15.0 writes 48-byte descriptors: models/fw/hafnium.py)."""
    run, results = run_table(FW, "pkvm", MAPPED + [smc(PART_INFO, 0, 0, 0, 0, 0)])
    got = results[-1]
    assert got[0] == FFA_SUCCESS and got[2] == 2 and got[3] == 48 and got[4:] == [0] * 14, show(got)
    rx = run.machine.memory.read(RX, 96)
    assert [int.from_bytes(rx[n:n + 2], "little") for n in (0, 48)] == [0x8001, 0x8002]


def test_no_ffa_at_el3_still_traps_host_calls():
    """hyp_ffa_init returns 0 when EL3 has no FF-A, and kvm_host_ffa_handler still runs:
    FFA_VERSION fails in hyp_ffa_post_init (FFA_ID_GET is not FFA_SUCCESS) -> NOT_SUPPORTED."""
    got = last("tfa", "pkvm", [INIT, smc(VERSION, 0x10002)])
    assert got == R(MASK64), show(got)


MEM_FRAG_TX = 0x8400_007B


def el3_calls(run) -> list[int]:
    """The function IDs pKVM sent to EL3, in order (the machine's call record)."""
    return [c.fid for c in run.result.calls if (c.from_el, c.to_el) == (2, 3)]


def test_frag_tx_of_memory_the_host_does_not_own_aborts_the_transaction():
    """do_ffa_mem_frag_tx: a fragment is whole address ranges (16 bytes each); a range
    pKVM cannot share makes it reclaim the handle at EL3 (abort) and answer DENIED."""
    frag = struct.pack("<QI4x", 0x4000_0000, 1)                 # hypervisor memory
    run, results = run_table(FW, "pkvm", MAPPED + [smc(MEM_FRAG_TX, 7, 0, len(frag), 0)], {TX: frag})
    assert results[-1] == R(FFA_ERROR, 0, sext(DENIED_W)), show(results[-1])
    assert el3_calls(run)[-2:] == [MEM_RECLAIM, 0x8400_0008]     # then PSCI SYSTEM_OFF
    got = last(FW, "pkvm", MAPPED + [smc(MEM_FRAG_TX, 7, 0, 24, 0)], {TX: frag})
    assert got == ERR_INVAL, show(got)                          # not a multiple of 16


def test_lent_page_cannot_be_shared_again():
    """MEM_LEND_64 goes through the same __do_ffa_mem_xfer: the page is in the FF-A state
    after it, so sharing it again fails in ffa_host_share_ranges (DENIED)."""
    lend = smc(0xC400_0072, len(DESC), len(DESC), 0, 0)
    run, results = run_table(FW, "pkvm", MAPPED + [lend, SHARE], {TX: DESC})
    assert results[-2][0] == FFA_SUCCESS, show(results[-2])
    assert results[-1] == R(FFA_ERROR, 0, sext(DENIED_W)), show(results[-1])
    assert MEM_SHARE_64 not in el3_calls(run)[-2:]


def test_pkvm_over_an_ffa_1_1_firmware():
    """hyp_ffa_init: a firmware minor below 2 becomes hyp_ffa_version, so the host's
    FFA_VERSION(1.2) is answered 1.1 (OP-TEE 4.4 behind TF-A 2.12 answers 1.1; the optee
    model is held to that real image)."""
    run, results = run_table("optee:release=4.4", "pkvm", NEGOTIATED + [smc(ID_GET)])
    assert results[1] == R(0x10001), show(results[1])
    assert results[2] == R(FFA_SUCCESS, rest="kept"), show(results[2])
