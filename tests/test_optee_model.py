"""Key facts of the real-firmware-grounded models, register-exact, without QEMU. Every
expected value was read from a real-firmware run under QEMU (tests/fwdiff/*.S on the image
named in the comment); tests/test_fwdiff.py holds the models to those runs in full.
"""
from __future__ import annotations

import struct

import pytest

from ffaemu.ffa.abi import FfaId
from ffaemu.ffa.conv import Call
from ffaemu.machine import Machine
from ffaemu.models.fw import FIRMWARE
from ffaemu.models.fw.base import Answer, FirmwarePanic

TX, RX, SHARE = 0x4020_0000, 0x4020_1000, 0x4030_0000
SENTINELS = [0] + [0x5E00_0000_5E00_0000 | (n << 32) | n for n in range(1, 18)]
OPTEE_UUID = (0xE0786148, 0xE311F8E7, 0x02005EBC, 0x1BC5D5A5)


class Caller:
    """A normal-world caller: sentinels in x1-x17, then the given arguments; returns x0-x17
    after the call (registers the model does not write keep the caller's values)."""

    def __init__(self, spec: str):
        self.model = FIRMWARE.create(spec)
        self.mem = Machine().memory

    def __call__(self, fid: int, *args: int) -> list[int]:
        xs = list(SENTINELS)
        xs[0] = fid
        xs[1:1 + len(args)] = args
        answer = self.model.handle(Call(xs), self.mem)
        assert isinstance(answer, Answer)
        return [answer.values.get(n, xs[n]) for n in range(18)]


def zero_x1_x7(regs):
    return regs[1:8] == [0] * 7


def test_tfa_alone_ffa_is_unknown_and_only_x0_is_written():
    # real-firmware run, tfa-2.14.6.bios (spmd_local.S): SMC_UNK sign-extended, x1-x17 kept.
    regs = Caller("tfa")(FfaId.FFA_VERSION, 0x10002)
    assert regs[0] == 0xFFFF_FFFF_FFFF_FFFF
    assert regs[1] == 0x10002 and regs[2:] == SENTINELS[2:]


def test_tfa_smccc_and_psci_versions():
    # real-firmware run, all four images: SMCCC 1.5, PSCI 1.1, x1-x17 kept.
    call = Caller("tfa")
    assert call(0x8000_0000) == [0x10005] + SENTINELS[1:]
    assert call(0x8400_0000) == [0x10001] + SENTINELS[1:]


def test_tfa_arch_and_psci_features():
    # real-firmware run, all four images (spmd_local.S), QEMU -cpu max: WORKAROUND_2 is
    # NOT_REQUIRED (-2), 1 and 3 are needed; PSCI_FEATURES of a non-PSCI ID is -1; only x0 of
    # SMC_RET1 is written, the UID fills x0-x3.
    call = Caller("tfa")
    assert call(0x8000_0001, 0x8000_7FFF) == [0xFFFF_FFFF_FFFF_FFFE, 0x8000_7FFF] + SENTINELS[2:]
    assert call(0x8000_0001, 0x8000_8000)[0] == 1
    assert call(0x8400_000A, 0xC400_0003)[0] == 0
    assert call(0x8400_000A, FfaId.FFA_VERSION)[0] == 0xFFFF_FFFF_FFFF_FFFF
    assert call(0x8400_FF01)[:5] == [0x108D905B, 0x47E8F863, 0xFBC02DAE, 0xE2F64156, SENTINELS[4]]


def test_spmd_without_spmc():
    # real-firmware run, tfa-2.14.6-spmd-nospmc.bios (spmd_local.S, spmd_hang.S).
    call = Caller("tfa-spmd:spmc=absent")
    regs = call(FfaId.FFA_VERSION, 0x10002)
    assert regs[0] == 0x0000_0000_FFFF_FFFF and zero_x1_x7(regs) and regs[8:] == SENTINELS[8:]
    regs = call(FfaId.FFA_ID_GET)
    assert regs[0] == FfaId.FFA_SUCCESS and zero_x1_x7(regs)
    assert call(FfaId.FFA_SPM_ID_GET)[2] == 0               # no SPMC manifest: spmc_id 0
    regs = call(FfaId.FFA_MSG_SEND_DIRECT_REQ_64, 0x8001_8001, 0)
    assert regs[:3] == [FfaId.FFA_ERROR, 0, 0x0000_0000_FFFF_FFFE]   # secure source ID
    with pytest.raises(FirmwarePanic, match="never initialised"):
        call(FfaId.FFA_FEATURES, FfaId.FFA_RXTX_MAP_64)


@pytest.mark.parametrize("spec, answer, renegotiated", [("optee", 0x10002, 0x10002),
                                                        ("optee:release=4.4", 0x10001, 0x10000)])
def test_optee_version(spec, answer, renegotiated):
    # real-firmware runs (spmd_local.S): 4.10 always answers 1.2; 4.4 answers what it
    # records, 1.0 below 1.1; bit 31 is refused by the SPMD, zero-extended.
    call = Caller(spec)
    regs = call(FfaId.FFA_VERSION, 0xDEAD_BEEF_0001_0002)
    assert regs[0] == answer and zero_x1_x7(regs) and regs[8:] == SENTINELS[8:]
    assert call(FfaId.FFA_VERSION, 0x10000)[0] == renegotiated
    assert call(FfaId.FFA_VERSION, 0x8001_0002)[0] == 0x0000_0000_FFFF_FFFF


def test_optee_error_w2_is_zero_extended():
    # real-firmware run, tfa-2.14.6-optee-4.10.0.bios (partitions.S call 7): DENIED in x2
    # as 0x00000000fffffffa, x1 and x3-x7 zero, x8-x17 the caller's.
    call = Caller("optee")
    call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)
    regs = call(FfaId.FFA_RX_RELEASE)
    assert regs[:8] == [FfaId.FFA_ERROR, 0, 0x0000_0000_FFFF_FFFA, 0, 0, 0, 0, 0]
    assert regs[8:] == SENTINELS[8:]


def test_optee_features():
    # real-firmware run, features.S: MEM_SHARE w2 = 1 (dynamic buffer), schedule-receiver
    # interrupt 8, FFA_ID_GET not supported (the SPMD answers it), x1[63:32] ignored.
    call = Caller("optee")
    call(FfaId.FFA_VERSION, 0x10002)
    assert call(FfaId.FFA_FEATURES, FfaId.FFA_MEM_SHARE, 0)[:3] == [FfaId.FFA_SUCCESS, 0, 1]
    assert call(FfaId.FFA_FEATURES, 2, 0)[:3] == [FfaId.FFA_SUCCESS, 0, 8]
    assert call(FfaId.FFA_FEATURES, FfaId.FFA_ID_GET, 0)[2] == 0xFFFF_FFFF
    assert call(FfaId.FFA_FEATURES, FfaId.FFA_MEM_LEND, 0)[2] == 0xFFFF_FFFF
    assert call(FfaId.FFA_FEATURES, 0xFFFF_FFFF_8400_0066, 0)[:3] == [FfaId.FFA_SUCCESS, 0, 0]


def test_optee_partition_info_before_and_after_version():
    # real-firmware run, partitions.S calls 2-11: one partition, OP-TEE itself; FF-A 1.0
    # entries (8 bytes, properties [2:0]) until FFA_VERSION, then 24 bytes with the UUID.
    call = Caller("optee")
    call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)
    assert call(FfaId.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 1)[:4] == [FfaId.FFA_SUCCESS, 0, 1, 0]
    assert call(FfaId.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0)[:4] == [FfaId.FFA_SUCCESS, 0, 1, 0]
    assert struct.unpack("<Q", call.mem.read(RX, 8))[0] == 0x0000_0003_0004_8001
    assert call(FfaId.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0)[2] == 0xFFFF_FFFC     # BUSY
    call(FfaId.FFA_RX_RELEASE)
    call(FfaId.FFA_VERSION, 0x10002)
    assert call(FfaId.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0)[:4] == [FfaId.FFA_SUCCESS, 0, 1, 0x18]
    assert call.mem.read(RX, 24) == struct.pack("<HHI4I", 0x8001, 4, 0x103, *OPTEE_UUID)


def test_optee_direct_requests():
    # real-firmware run, partitions.S: OP-TEE's blocking calls; 0x8002 refused in 4.10.
    call = Caller("optee")
    regs = call(FfaId.FFA_MSG_SEND_DIRECT_REQ, 0x8001, 0, 0, 0, 0, 0, 0)      # GET_API_VERSION
    assert regs[:8] == [FfaId.FFA_MSG_SEND_DIRECT_RESP, 0x8001_0000, 0, 1, 0, 0, 0, 0]
    regs = call(FfaId.FFA_MSG_SEND_DIRECT_REQ_64, 0x8001, 0, 1)              # GET_OS_VERSION
    assert regs[:6] == [FfaId.FFA_MSG_SEND_DIRECT_RESP_64, 0x8001_0000, 0, 4, 10, 0x753AFBBE]
    assert regs[8:] == SENTINELS[8:]            # FFA_VERSION not recorded by the SPMD: SMC_RET8
    assert call(FfaId.FFA_MSG_SEND_DIRECT_REQ, 0x8002, 0, 0)[2] == 0xFFFF_FFFE


def test_direct_resp_64_clears_x8_x17_once_1_2_is_negotiated():
    # real-firmware run, features.S call 46: FFA_VERSION(1.2) first, so the SPMD relays
    # OP-TEE's SMC64 answer with SMC_RET18 and OP-TEE's zero x8-x17.
    call = Caller("optee")
    call(FfaId.FFA_VERSION, 0x10002)
    regs = call(FfaId.FFA_MSG_SEND_DIRECT_REQ_64, 0x8001, 0, 1)
    assert regs[0] == FfaId.FFA_MSG_SEND_DIRECT_RESP_64 and regs[8:] == [0] * 10
    # OP-TEE 4.4 behind TF-A v2.12.0: always SMC_RET8, x8-x17 kept.
    old = Caller("optee:release=4.4")
    old(FfaId.FFA_VERSION, 0x10002)
    assert old(FfaId.FFA_MSG_SEND_DIRECT_REQ_64, 0x8001, 0, 1)[8:] == SENTINELS[8:]


def _descriptor(perm: int) -> bytes:
    head = struct.pack("<HHIQQIII12x", 0, 0x2F, 0, 0, 0, 16, 1, 48)
    return head + struct.pack("<HBBI8x", 0x8001, perm, 0, 64) + struct.pack("<II8xQI4x", 1, 1, SHARE, 1)


def test_optee_mem_share_handle_and_permissions():
    # real-firmware run, memory.S: handle 1 << 44 | index (w2 low, w3 high), reused after
    # reclaim; RW + XN (0x6) is INVALID_PARAMETERS; x5-x7 are MBZ in full.
    call = Caller("optee")
    call(FfaId.FFA_VERSION, 0x10002)
    call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)
    call.mem.write(TX, _descriptor(0x6))
    assert call(FfaId.FFA_MEM_SHARE_64, 96, 96, 0, 0, 0, 0, 0)[2] == 0xFFFF_FFFE
    call.mem.write(TX, _descriptor(0x2))
    assert call(FfaId.FFA_MEM_SHARE_64, 96, 96, 0, 0)[2] == 0xFFFF_FFFE         # sentinel x5
    assert call(FfaId.FFA_MEM_SHARE_64, 96, 96, 0, 0, 0, 0, 0)[:4] == [FfaId.FFA_SUCCESS, 0, 0, 0x1000]
    assert call(FfaId.FFA_MEM_SHARE, 96, 96, 0, 0, 0, 0, 0)[:4] == [FfaId.FFA_SUCCESS, 0, 1, 0x1000]
    assert call(FfaId.FFA_MEM_RECLAIM, 0, 0x1000, 0, 0, 0, 0, 0)[0] == FfaId.FFA_SUCCESS
    assert call(FfaId.FFA_MEM_SHARE_64, 96, 96, 0, 0, 0, 0, 0)[2:4] == [0, 0x1000]


def test_smc32_arguments_lose_bits_63_32_in_bl31():
    # real-firmware run, partitions.S: RXTX_MAP_32 with garbage in x3[63:32] succeeds (TF-A's
    # std_svc_smc_handler clears x1-x4[63:32] of SMC32 calls), RXTX_MAP_64 with it does not.
    call = Caller("optee")
    assert call(FfaId.FFA_RXTX_MAP, TX, RX, 0xDEAD_0000_0000_0001)[0] == FfaId.FFA_SUCCESS
    call(FfaId.FFA_RXTX_UNMAP, 0)
    assert call(FfaId.FFA_RXTX_MAP_64, TX, RX, 0xDEAD_0000_0000_0001)[2] == 0xFFFF_FFFE


def test_release_option_is_checked():
    from ffaemu.errors import FfaemuError
    with pytest.raises(FfaemuError, match=r"invalid value '4\.9' for optee:release \(valid: 4\.10, 4\.4\)"):
        FIRMWARE.create("optee:release=4.9")
    assert FIRMWARE.create("optee:release=4.4").own_version == 0x10001


def test_optee_notifications():
    # real-firmware run, memory.S (notification part), both OP-TEE releases.
    call = Caller("optee")
    assert call(FfaId.FFA_NOTIFICATION_INFO_GET, 0, 0, 0, 0, 0, 0, 0)[2] == 0xFFFF_FFF7    # NO_DATA
    assert call(FfaId.FFA_NOTIFICATION_BITMAP_CREATE, 0, 0, 0, 0, 0, 0, 0)[0] == FfaId.FFA_SUCCESS
    assert call(FfaId.FFA_NOTIFICATION_BITMAP_CREATE, 0, 0, 0, 0, 0, 0, 0)[2] == 0xFFFF_FFFA  # DENIED
    assert call(FfaId.FFA_NOTIFICATION_BITMAP_CREATE, 0)[2] == 0xFFFF_FFFE      # sentinels x3-x7
    assert call(FfaId.FFA_NOTIFICATION_BIND, 0, 1, 4, 0, 0, 0, 0)[2] == 0xFFFF_FFFA  # per-vCPU
    assert call(FfaId.FFA_NOTIFICATION_BIND, 0, 0, 2, 0, 0, 0, 0)[0] == FfaId.FFA_SUCCESS
    assert call(FfaId.FFA_NOTIFICATION_BITMAP_DESTROY, 0, 0, 0, 0, 0, 0, 0)[2] == 0xFFFF_FFFA  # bound
    assert call(FfaId.FFA_NOTIFICATION_GET, 0, 1, 0, 0, 0, 0, 0)[:4] == [FfaId.FFA_SUCCESS, 0, 0, 0]
