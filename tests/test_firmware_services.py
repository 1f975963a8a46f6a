"""FF-A services of the firmware models: RX/TX, partitions, direct messages, memory sharing."""
from __future__ import annotations

import struct

import pytest

from ffaemu.ffa.abi import FfaError, FfaId
from ffaemu.ffa.conv import Call
from ffaemu.machine import Machine
from ffaemu.models.fw import FIRMWARE
from ffaemu.ffa import memdesc

TX, RX, SHARE = 0x4020_0000, 0x4020_1000, 0x4030_0000


# Models with echo partitions (0x8001, 0x8002). `optee` has OP-TEE's own partition and
# protocol, held to the real image: tests/test_optee_model.py and tests/test_fwdiff.py.
@pytest.fixture(params=["tfa-spmd", "tfa-el3-spmc"])
def fw(request):
    model = FIRMWARE.create(request.param)
    mem = Machine().memory

    def call(*regs):
        xs = list(regs) + [0] * (8 - len(regs))
        return model.fill(model.handle(Call(xs), mem))

    call(FfaId.FFA_VERSION, 0x10002)
    return model, mem, call


def ok(regs):
    return regs[0] & 0xFFFF_FFFF in (FfaId.FFA_SUCCESS, FfaId.FFA_SUCCESS_64)


def err(regs):
    assert regs[0] & 0xFFFF_FFFF == FfaId.FFA_ERROR, f"not an error: {regs[0]:#x}"
    return FfaError(((regs[2] & 0xFFFF_FFFF) ^ 0x8000_0000) - 0x8000_0000)


def descriptor(sender=0, receiver=0x8001, address=SHARE, pages=1):
    return memdesc.build(sender, receiver, address, pages)


def test_rxtx_map_unmap(fw):
    model, mem, call = fw
    assert err(call(FfaId.FFA_RXTX_MAP_64, TX + 8, RX, 1)) is FfaError.INVALID_PARAMETERS
    assert err(call(FfaId.FFA_RXTX_MAP_64, 0x9000_0000, RX, 1)) is FfaError.INVALID_PARAMETERS
    assert ok(call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1))
    assert err(call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)) is FfaError.DENIED
    assert ok(call(FfaId.FFA_RXTX_UNMAP, 0))
    assert err(call(FfaId.FFA_RXTX_UNMAP, 0)) is FfaError.INVALID_PARAMETERS


def test_partition_info_get_writes_rx_and_needs_release(fw):
    model, mem, call = fw
    assert err(call(FfaId.FFA_PARTITION_INFO_GET)) is FfaError.DENIED     # no RX yet
    call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)
    regs = call(FfaId.FFA_PARTITION_INFO_GET)
    assert ok(regs) and (regs[2], regs[3]) == (2, 24)
    ids = [struct.unpack_from("<H", mem.read(RX + 24 * n, 2))[0] for n in range(2)]
    assert ids == [0x8001, 0x8002]
    assert err(call(FfaId.FFA_PARTITION_INFO_GET)) is FfaError.BUSY       # RX not released
    assert ok(call(FfaId.FFA_RX_RELEASE))
    assert err(call(FfaId.FFA_RX_RELEASE)) is FfaError.DENIED
    assert ok(call(FfaId.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 1))         # count only


@pytest.mark.parametrize("fid, mask", [(FfaId.FFA_MSG_SEND_DIRECT_REQ, 0xFFFF_FFFF),
                                       (FfaId.FFA_MSG_SEND_DIRECT_REQ_64, (1 << 64) - 1)])
def test_direct_request_echo(fw, fid, mask):
    model, mem, call = fw
    payload = [0x1111_2222_3333_4444 + n for n in range(5)]
    regs = call(fid, 0x0000_8002, 0, *payload)
    resp = FfaId.FFA_MSG_SEND_DIRECT_RESP_64 if mask >> 32 else FfaId.FFA_MSG_SEND_DIRECT_RESP
    assert regs[0] & 0xFFFF_FFFF == resp
    assert regs[1] & 0xFFFF_FFFF == 0x8002_0000
    assert [r & mask for r in regs[3:8]] == [p & mask for p in payload]
    assert err(call(fid, 0x0000_8009)) is FfaError.INVALID_PARAMETERS        # no such partition
    assert err(call(fid, 0x0005_8001)) is FfaError.INVALID_PARAMETERS        # spoofed sender


def test_mem_share_and_reclaim(fw):
    model, mem, call = fw
    desc = descriptor()
    assert err(call(FfaId.FFA_MEM_SHARE, len(desc), len(desc))) is FfaError.INVALID_PARAMETERS
    call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)
    mem.write(TX, desc)
    regs = call(FfaId.FFA_MEM_SHARE_64, len(desc), len(desc))
    assert ok(regs)
    handle = (regs[3] << 32) | regs[2]
    assert model.ffa.shares[handle].ranges == ((SHARE, 1),)
    assert err(call(FfaId.FFA_MEM_RECLAIM, handle + 1, 0, 0)) is FfaError.INVALID_PARAMETERS
    assert ok(call(FfaId.FFA_MEM_RECLAIM, handle & 0xFFFF_FFFF, handle >> 32, 0))
    assert model.ffa.shares == {}


@pytest.mark.parametrize("bad", [dict(address=0x9000_0000), dict(address=SHARE + 4),
                                 dict(receiver=0x1234), dict(sender=5), dict(pages=0)])
def test_bad_descriptor_is_refused_and_changes_nothing(fw, bad):
    model, mem, call = fw
    call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)
    desc = descriptor(**bad)
    mem.write(TX, desc)
    before = (dict(model.ffa.shares), model.ffa.next_handle, mem.read(RX, 64))
    assert err(call(FfaId.FFA_MEM_SHARE, len(desc), len(desc))) is FfaError.INVALID_PARAMETERS
    assert (dict(model.ffa.shares), model.ffa.next_handle, mem.read(RX, 64)) == before


def test_truncated_descriptor(fw):
    model, mem, call = fw
    call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)
    desc = descriptor()
    mem.write(TX, desc)
    assert err(call(FfaId.FFA_MEM_SHARE, 40, 40)) is FfaError.INVALID_PARAMETERS
    assert err(call(FfaId.FFA_MEM_SHARE, len(desc), 16)) is FfaError.NOT_SUPPORTED   # fragments


def test_features(fw):
    model, mem, call = fw
    assert ok(call(FfaId.FFA_FEATURES, FfaId.FFA_RXTX_MAP_64))
    assert err(call(FfaId.FFA_FEATURES, FfaId.FFA_MEM_DONATE)) is FfaError.NOT_SUPPORTED
    assert err(call(FfaId.FFA_FEATURES, 0x8400_0008)) is FfaError.NOT_SUPPORTED


def test_spm_id_and_id_get(fw):
    model, mem, call = fw
    assert call(FfaId.FFA_ID_GET)[2] == 0
    assert call(FfaId.FFA_SPM_ID_GET)[2] == 0x8000
