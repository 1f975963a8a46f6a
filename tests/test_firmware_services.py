"""FF-A service sequences of the models with echo partitions (0x8001, 0x8002): RX/TX
lifecycle, partition discovery and the RX buffer, direct messages, memory sharing.

`tfa-spmd` is TF-A lts-v2.14.6's SPMD + Hafnium v2.15.0, `tfa-el3-spmc` TF-A lts-v2.14.6's
EL3 SPMC; where the two differ the expectation is per model, citing the upstream function.
Single calls are checked in all 18 registers in tests/test_fw_audit_registers.py. `optee`
has OP-TEE's own partition and protocol, held to the real image: tests/test_optee_model.py
and tests/test_fwdiff.py.
"""
from __future__ import annotations

import struct

import pytest

from ffaemu.ffa.abi import FfaError, FfaId
from ffaemu.ffa.conv import Call
from ffaemu.machine import Machine
from ffaemu.models.fw import FIRMWARE
from ffaemu.ffa import memdesc

TX, RX, SHARE = 0x4020_0000, 0x4020_1000, 0x4030_0000
# Partition descriptor size for a v1.2 caller: Hafnium's struct ffa_partition_info (v1.3
# layout, send_versioned_partition_info_descriptors); the EL3 SPMC's ffa_partition_info_v1_1.
DESC_SIZE = {"tfa-spmd": 48, "tfa-el3-spmc": 24}
# First memory handle: Hafnium's share-state slot 0 (ffa_memory_make_handle); the EL3
# SPMC's spmc_shmem_obj_state.next_handle.
FIRST_HANDLE = {"tfa-spmd": 0, "tfa-el3-spmc": 0xFFFF_FFC0}


@pytest.fixture(params=["tfa-spmd", "tfa-el3-spmc"])
def fw(request):
    model = FIRMWARE.create(request.param)
    mem = Machine().memory

    def call(*regs):
        xs = list(regs) + [0] * (8 - len(regs))
        return model.fill(model.handle(Call(xs), mem))

    call(FfaId.FFA_VERSION, 0x10002)
    return request.param, mem, call


def ok(regs):
    return regs[0] & 0xFFFF_FFFF in (FfaId.FFA_SUCCESS, FfaId.FFA_SUCCESS_64)


def err(regs):
    assert regs[0] & 0xFFFF_FFFF == FfaId.FFA_ERROR, f"not an error: {regs[0]:#x}"
    return FfaError(((regs[2] & 0xFFFF_FFFF) ^ 0x8000_0000) - 0x8000_0000)


def descriptor(sender=0, receiver=0x8001, address=SHARE, pages=1):
    return memdesc.build(sender, receiver, address, pages)


# An address outside memory: Hafnium's arch_other_world_vm_configure_rxtx_map finds it
# unmapped in the normal world's page tables (DENIED); beyond the EL3 SPMC's 4 GiB
# physical address space mmap_add_dynamic_region fails (INVALID_PARAMETERS).
FAR_AWAY = {"tfa-spmd": FfaError.DENIED, "tfa-el3-spmc": FfaError.INVALID_PARAMETERS}


def test_rxtx_map_unmap(fw):
    spec, mem, call = fw
    assert err(call(FfaId.FFA_RXTX_MAP_64, TX + 8, RX, 1)) is FfaError.INVALID_PARAMETERS
    assert err(call(FfaId.FFA_RXTX_MAP_64, 0x1_0000_0000, RX, 1)) is FAR_AWAY[spec]
    assert ok(call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1))
    assert err(call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)) is FfaError.DENIED
    assert ok(call(FfaId.FFA_RXTX_UNMAP, 0))
    assert err(call(FfaId.FFA_RXTX_UNMAP, 0)) is FfaError.INVALID_PARAMETERS
    assert ok(call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1))           # mappable again


def test_partition_info_get_writes_rx_and_needs_release(fw):
    spec, mem, call = fw
    # No RX buffer: Hafnium's vm_is_mailbox_busy (recv == NULL), the EL3 SPMC's
    # partition_info_get_handler (rx_buffer == NULL): BUSY in both.
    assert err(call(FfaId.FFA_PARTITION_INFO_GET)) is FfaError.BUSY
    call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)
    regs = call(FfaId.FFA_PARTITION_INFO_GET)
    size = DESC_SIZE[spec]
    assert ok(regs) and (regs[2], regs[3]) == (2, size)
    ids = [struct.unpack_from("<H", mem.read(RX + size * n, 2))[0] for n in range(2)]
    assert ids == [0x8001, 0x8002]
    assert err(call(FfaId.FFA_PARTITION_INFO_GET)) is FfaError.BUSY       # RX not released
    assert ok(call(FfaId.FFA_RX_RELEASE))
    assert err(call(FfaId.FFA_RX_RELEASE)) is FfaError.DENIED
    assert ok(call(FfaId.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 1))         # count only


@pytest.mark.parametrize("fid, mask", [(FfaId.FFA_MSG_SEND_DIRECT_REQ, 0xFFFF_FFFF),
                                       (FfaId.FFA_MSG_SEND_DIRECT_REQ_64, (1 << 64) - 1)])
def test_direct_request_echo(fw, fid, mask):
    spec, mem, call = fw
    payload = [0x1111_2222_3333_4444 + n for n in range(5)]
    regs = call(fid, 0x0000_8002, 0, *payload)
    resp = FfaId.FFA_MSG_SEND_DIRECT_RESP_64 if mask >> 32 else FfaId.FFA_MSG_SEND_DIRECT_RESP
    assert regs[0] & 0xFFFF_FFFF == resp
    assert regs[1] & 0xFFFF_FFFF == 0x8002_0000
    assert [r & mask for r in regs[3:8]] == [p & mask for p in payload]
    assert err(call(fid, 0x0000_8009)) is FfaError.INVALID_PARAMETERS        # no such partition
    # A secure source from the normal world: spmd_smc_handler's ffa_is_secure_world_id.
    assert err(call(fid, 0x8001_8002)) is FfaError.INVALID_PARAMETERS


def test_mem_share_and_reclaim(fw):
    spec, mem, call = fw
    desc = descriptor()
    assert err(call(FfaId.FFA_MEM_SHARE, len(desc), len(desc))) is FfaError.INVALID_PARAMETERS
    call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)
    mem.write(TX, desc)
    regs = call(FfaId.FFA_MEM_SHARE_64, len(desc), len(desc))
    assert ok(regs)
    handle = (regs[3] << 32) | regs[2]
    assert handle == FIRST_HANDLE[spec]
    assert err(call(FfaId.FFA_MEM_RECLAIM, handle + 1, 0, 0)) is FfaError.INVALID_PARAMETERS
    assert ok(call(FfaId.FFA_MEM_RECLAIM, handle & 0xFFFF_FFFF, handle >> 32, 0))
    assert err(call(FfaId.FFA_MEM_RECLAIM, handle & 0xFFFF_FFFF, handle >> 32, 0)) \
        is FfaError.INVALID_PARAMETERS


INVAL, DENIED = FfaError.INVALID_PARAMETERS, FfaError.DENIED


# Expected per model: Hafnium's checks as modelled (aligned, non-empty ranges in RAM for
# known SPs); the EL3 SPMC's spmc_shmem_check_obj only warns about an unaligned address,
# does not look at memory before a retrieve and leaves normal-world receivers to the
# hypervisor. A secure sender is DENIED by both (Hafnium ffa_memory_send_validate: "The
# sender must match the caller"; spmc_ffa_fill_desc: "Invalid sender ID").
@pytest.mark.parametrize("bad, codes", [
    (dict(address=0x9000_0000), {"tfa-spmd": INVAL, "tfa-el3-spmc": None}),
    (dict(address=SHARE + 4), {"tfa-spmd": INVAL, "tfa-el3-spmc": None}),
    (dict(receiver=0x1234), {"tfa-spmd": INVAL, "tfa-el3-spmc": None}),
    (dict(receiver=0x8009), {"tfa-spmd": INVAL, "tfa-el3-spmc": INVAL}),
    (dict(pages=0), {"tfa-spmd": INVAL, "tfa-el3-spmc": None}),
    (dict(sender=0x8001), {"tfa-spmd": DENIED, "tfa-el3-spmc": DENIED}),
])
def test_descriptor_checks(fw, bad, codes):
    spec, mem, call = fw
    call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)
    desc = descriptor(**bad)
    mem.write(TX, desc)
    regs = call(FfaId.FFA_MEM_SHARE, len(desc), len(desc))
    if codes[spec] is None:
        assert ok(regs)
    else:
        assert err(regs) is codes[spec]


def test_truncated_descriptor(fw):
    spec, mem, call = fw
    call(FfaId.FFA_RXTX_MAP_64, TX, RX, 1)
    desc = descriptor()
    mem.write(TX, desc)
    # 40 bytes is less than a v1.1 transaction descriptor (48): Hafnium's
    # ffa_memory_region_sanity_check, the EL3 SPMC's min_desc_size check.
    assert err(call(FfaId.FFA_MEM_SHARE, 40, 40)) is FfaError.INVALID_PARAMETERS


def test_spm_id_and_id_get(fw):
    spec, mem, call = fw
    assert call(FfaId.FFA_ID_GET)[2] == 0                # FFA_NS_ENDPOINT_ID (the SPMD)
    assert call(FfaId.FFA_SPM_ID_GET)[2] == 0x8000       # spmc_attrs.spmc_id
