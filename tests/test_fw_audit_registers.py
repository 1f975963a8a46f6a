"""Every register x0-x17 of each FF-A ABI of `tfa-spmd` (TF-A lts-v2.14.6 SPMD + Hafnium
v2.15.0) and `tfa-el3-spmc` (TF-A lts-v2.14.6 EL3 SPMC), against the upstream source.

No image of these firmwares exists here, so each expected value cites the upstream file
and function that fixes it. Each case runs its setup calls on a fresh model, then the call
under test with a distinct sentinel in every register it does not use, so what a layer
preserves, zeroes or writes is visible; arguments carry garbage in bits [63:32] where that
shows a width rule (TF-A's std_svc_smc_handler clears them in x1-x4 of an SMC32 call, not in
x5-x7, and not in an SMC64 call).
"""
from __future__ import annotations

import struct

import pytest

from ffaemu.ffa import memdesc
from ffaemu.ffa.abi import FfaError, FfaId as F
from ffaemu.ffa.conv import Call
from ffaemu.machine import Machine
from ffaemu.models.fw import FIRMWARE

M32, M64 = 0xFFFF_FFFF, (1 << 64) - 1
GARBAGE = 0xDEAD_BEEF_0000_0000                  # bits [63:32] of an SMC32 argument
TX, RX, SHARE = 0x4020_0000, 0x4020_1000, 0x4030_0000
V1_0, V1_1, V1_2, V1_3, V2_0 = 0x10000, 0x10001, 0x10002, 0x10003, 0x20000
SP1_UUID = bytes.fromhex("b4b5671e4a904fe1b81ffb13dae1dacb")     # echo_sp.ECHO_SPS
SP2_UUID = bytes.fromhex("d1582309f02347b9827c4464f5578fc8")
NS, INVAL, DENIED, BUSY = (FfaError.NOT_SUPPORTED, FfaError.INVALID_PARAMETERS,
                           FfaError.DENIED, FfaError.BUSY)


def S(n: int) -> int:
    """The sentinel placed in x`n` when the call does not use it."""
    return 0x5E00_0000_0000_0000 | n << 8 | n


def call(fid: int, *args: int) -> list[int]:
    return [int(fid), *args] + [S(n) for n in range(len(args) + 1, 18)]


def uuid64(uuid: bytes) -> tuple[int, int]:
    return int.from_bytes(uuid[:8], "little"), int.from_bytes(uuid[8:], "little")


def uuid32(uuid: bytes) -> list[int]:
    return [int.from_bytes(uuid[4 * n:4 * n + 4], "little") for n in range(4)]


# What the caller sees, built from its own registers `xs`.
def ret(xs, *values):
    """SMC_RETn on the caller's context: x0..x(n-1) written, x(n)-x17 the caller's."""
    return list(values) + list(xs[len(values):18])


def ret8(xs, *values):
    """SMC_RET8: x0-x7 written (unnamed ones zero), x8-x17 the caller's."""
    return (list(values) + [0] * 8)[:8] + list(xs[8:18])


def ret18(*values):
    return (list(values) + [0] * 18)[:18]


def spmd_err(xs, code):
    """spmd_ffa_error_return (spmd_main.c): w2 = (uint32_t)error_code, zero-extended."""
    return ret8(xs, F.FFA_ERROR, 0, code & M32)


def hf_err(xs, code):
    """Hafnium ffa_error (inc/hf/ffa_internal.h), relayed with SMC_RET8 by the SPMD."""
    return ret8(xs, F.FFA_ERROR, 0, code & M32)


def el3_err(xs, code):
    """spmc_ffa_error_return (spmc_main.c): `int error_code` -> x2 sign-extended."""
    return ret8(xs, F.FFA_ERROR, 0, code & M64)


def version(v):
    return call(F.FFA_VERSION, v)


MAP = call(F.FFA_RXTX_MAP_64, TX, RX, 1)
V12, V11, V10 = version(V1_2), version(V1_1), version(V1_0)
DESC = memdesc.build(0, 0x8001, SHARE, 1)
PAYLOAD = [0x1111_0000_0000_0000 | n for n in range(18)]      # direct-message payload


def share(fid=F.FFA_MEM_SHARE, x3=0):
    return call(fid, len(DESC), len(DESC), x3, 0)


def run_case(spec: str, setup: list[list[int]], xs: list[int]) -> list[int]:
    """x0-x17 as the caller sees them after `xs`, on a fresh model after `setup`."""
    model = FIRMWARE.create(spec)
    mem = Machine().memory
    mem.write(TX, DESC)
    out = None
    for regs in [*setup, xs]:
        written = model.fill(model.handle(Call(list(regs)), mem))
        out = written + list(regs[len(written):18])
    return out


def _show(regs):
    return "\n".join(f"  x{n:<2} {v:#018x}" for n, v in enumerate(regs))


def check(spec, setup, xs, expected):
    got = run_case(spec, setup, xs)
    assert len(expected) == 18
    assert got == expected, f"got:\n{_show(got)}\nwant:\n{_show(expected)}"


REQ32 = call(F.FFA_MSG_SEND_DIRECT_REQ, 0x0000_8001, 0, *[GARBAGE | 0xA0 + n for n in range(5)])
REQ64 = call(F.FFA_MSG_SEND_DIRECT_REQ_64, 0x0000_8001, 0, *PAYLOAD[3:8])
REQ2 = call(F.FFA_MSG_SEND_DIRECT_REQ2, 0x0000_8001, *uuid64(SP1_UUID), *PAYLOAD[4:18])

# (setup, call, expected from the call's registers xs); ids name the ABI and the case.
SPMD_HAFNIUM = {
    # spmd_smc_handler FFA_VERSION: input_version = (uint32_t)x1; the SPMC's answer (x3 of
    # its framework response) is relayed with x1-x4 = FFA_PARAM_MBZ, x5-x7 zeroed, by
    # SMC_RET8 (SMC32 "fid"): x8-x17 untouched. api_ffa_version answers v1.3.
    "version-1.2": ([], version(GARBAGE | V1_2), lambda xs: ret8(xs, V1_3)),
    "version-1.3": ([], version(V1_3), lambda xs: ret8(xs, V1_3)),
    # FFA_VERSION_BIT31_MASK: the SPMD's NOT_SUPPORTED, (uint32_t)ret -> zero-extended.
    "version-bit31": ([], version(0x8001_0002), lambda xs: ret8(xs, NS & M32)),
    # api_ffa_version: not compatible with FFA_VERSION_COMPILED (1.3).
    "version-1.4": ([], version(0x10004), lambda xs: ret8(xs, NS & M32)),
    "version-2.0": ([], version(V2_0), lambda xs: ret8(xs, NS & M32)),
    # The framework message is a direct request: hvc_smc_handler marks the other world
    # negotiated, so a second FFA_VERSION with another version is refused...
    "version-renegotiate": ([V12], V11, lambda xs: ret8(xs, NS & M32)),
    # ... and the same version is accepted again.
    "version-again": ([V12], V12, lambda xs: ret8(xs, V1_3)),
    # FFA_ID_GET never reaches Hafnium: the SPMD answers FFA_NS_ENDPOINT_ID (0) itself,
    # so negotiation is still open afterwards.
    "version-after-id-get": ([call(F.FFA_ID_GET)], V11, lambda xs: ret8(xs, V1_3)),
    # A call Hafnium handles (FFA_FEATURES) ends negotiation at its initial version 1.3
    # (other_world.c sets FFA_VERSION_COMPILED).
    "version-after-features": ([call(F.FFA_FEATURES, F.FFA_VERSION, 0)], V12,
                               lambda xs: ret8(xs, NS & M32)),
    # spmd_smc_handler FFA_ID_GET / FFA_SPM_ID_GET: SMC_RET8 with spmc_attrs.spmc_id.
    "id-get": ([V12], call(F.FFA_ID_GET), lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0)),
    "spm-id-get": ([V12], call(F.FFA_SPM_ID_GET), lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0x8000)),
    # api_ffa_features (uint32_t arguments): FFA_RXTX_MAP_64 reports max_buf_size = 1
    # page in w2[31:16] to a v1.2+ caller; min size 4K (0).
    "features-rxtx-map-64": ([V12], call(F.FFA_FEATURES, GARBAGE | F.FFA_RXTX_MAP_64, GARBAGE),
                             lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0x10000)),
    "features-rxtx-map-64-v1.1": ([V11], call(F.FFA_FEATURES, F.FFA_RXTX_MAP_64, 0),
                                  lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0)),
    # ffa_features_function has no FFA_RXTX_MAP_32 case.
    "features-rxtx-map-32": ([V12], call(F.FFA_FEATURES, F.FFA_RXTX_MAP, 0),
                             lambda xs: hf_err(xs, NS)),
    "features-req2": ([V12], call(F.FFA_FEATURES, F.FFA_MSG_SEND_DIRECT_REQ2, 0),
                      lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0)),
    # ffa_features_feature: SRI (ID 2) -> HF_SCHEDULE_RECEIVER_INTID to the normal world;
    # NPI (ID 1) only at the secure virtual instance; bits [30:8] MBZ.
    "features-sri": ([V12], call(F.FFA_FEATURES, 2, 0), lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 8)),
    "features-npi": ([V12], call(F.FFA_FEATURES, 1, 0), lambda xs: hf_err(xs, NS)),
    "features-notification": ([V12], call(F.FFA_FEATURES, 4, 0), lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 3)),
    "features-psci-id": ([V12], call(F.FFA_FEATURES, 0x8400_0008, 0), lambda xs: hf_err(xs, NS)),
    # FFA_MEM_RETRIEVE_REQ: a v1.1+ caller must set the NS bit (input property bit 1).
    "features-retrieve-no-ns": ([V12], call(F.FFA_FEATURES, F.FFA_MEM_RETRIEVE_REQ_64, 0),
                                lambda xs: hf_err(xs, NS)),
    "features-retrieve-ns": ([V12], call(F.FFA_FEATURES, F.FFA_MEM_RETRIEVE_REQ_64, 2),
                             lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 6)),
    # is_ffa_fid covers numbers 0x60-0x90: an unlisted one hits spmd_smc_handler's default;
    # 0x91 is not FF-A: std_svc_smc_handler's SMC_RET1(SMC_UNK), sign-extended, x1-x17 kept.
    "unknown-ffa-number": ([V12], call(0x8400_0078), lambda xs: spmd_err(xs, NS)),
    "beyond-ffa-range": ([V12], call(0x8400_0091), lambda xs: ret(xs, M64)),
    # Calls only the secure world may make.
    "msg-wait": ([V12], call(F.FFA_MSG_WAIT), lambda xs: spmd_err(xs, NS)),
    "console-log": ([V12], call(F.FFA_CONSOLE_LOG, 1, 0x41), lambda xs: spmd_err(xs, NS)),
    "normal-world-resume": ([V12], call(F.FFA_NORMAL_WORLD_RESUME), lambda xs: spmd_err(xs, DENIED)),
    # Forwarded, but not a call ffa_handler knows: smc_handler_from_nwd's NOT_SUPPORTED.
    "success-from-nwd": ([V12], call(F.FFA_SUCCESS), lambda xs: hf_err(xs, NS)),
    "rxtx-map-32": ([V12], call(F.FFA_RXTX_MAP, TX, RX, 1), lambda xs: hf_err(xs, NS)),
    # api_ffa_rxtx_map / api_vm_configure_pages: one page exactly, aligned, distinct.
    "rxtx-map-64": ([V12], MAP, lambda xs: ret8(xs, F.FFA_SUCCESS)),
    "rxtx-map-64-again": ([V12, MAP], MAP, lambda xs: hf_err(xs, DENIED)),
    "rxtx-map-64-2-pages": ([V12], call(F.FFA_RXTX_MAP_64, TX, RX + 0x1000, 2), lambda xs: hf_err(xs, INVAL)),
    "rxtx-map-64-unaligned": ([V12], call(F.FFA_RXTX_MAP_64, TX + 8, RX, 1), lambda xs: hf_err(xs, INVAL)),
    # arch_other_world_vm_configure_rxtx_map: not normal-world memory -> DENIED.
    "rxtx-map-64-not-ns-memory": ([V12], call(F.FFA_RXTX_MAP_64, 0x9000_0000, RX, 1),
                                  lambda xs: hf_err(xs, DENIED)),
    # api_ffa_rxtx_unmap: ffa_vm_id = x1[31:16]; nothing mapped -> INVALID_PARAMETERS.
    "rxtx-unmap": ([V12, MAP], call(F.FFA_RXTX_UNMAP, 0), lambda xs: ret8(xs, F.FFA_SUCCESS)),
    "rxtx-unmap-unmapped": ([V12], call(F.FFA_RXTX_UNMAP, 0), lambda xs: hf_err(xs, INVAL)),
    # api_release_mailbox: an empty mailbox is DENIED.
    "rx-release-empty": ([V12, MAP], call(F.FFA_RX_RELEASE, 0), lambda xs: hf_err(xs, DENIED)),
    # api_ffa_partition_info_get: count flag -> w2 = count and w3 not set (0); flags
    # bits [31:1] MBZ; a full or missing RX buffer is BUSY (vm_is_mailbox_busy).
    "partition-info-count": ([V12], call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, GARBAGE | 1),
                             lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 2, 0)),
    "partition-info-flags-mbz": ([V12], call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 2),
                                 lambda xs: hf_err(xs, INVAL)),
    "partition-info-no-rx": ([V12], call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0),
                             lambda xs: hf_err(xs, BUSY)),
    # send_versioned_partition_info_descriptors: w3 = sizeof(struct ffa_partition_info),
    # 48 bytes (v1.3 layout) for any caller above v1.0, 8 for v1.0.
    "partition-info": ([V12, MAP], call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0),
                       lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 2, 48)),
    "partition-info-v1.0": ([V10, MAP], call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0),
                            lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 2, 8)),
    "partition-info-one-uuid": ([V12, MAP], call(F.FFA_PARTITION_INFO_GET, *uuid32(SP2_UUID), 0),
                                lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 1, 48)),
    "partition-info-busy": ([V12, MAP, call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0)],
                            call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0), lambda xs: hf_err(xs, BUSY)),
    # api_ffa_partition_info_get_regs: x2 = size << 48 | last index << 16 | max index;
    # per SP six registers (ID | vCPUs << 16 | properties << 32, protocol UUID, image UUID,
    # partition version). Properties for the normal world: DIRECT_REQ_RECV | REQ2_RECV |
    # AArch64 (0x301). Both sides at v1.2+: SMC_RET18 relays Hafnium's x8-x17.
    "partition-info-regs": ([V12], call(F.FFA_PARTITION_INFO_GET_REGS, 0, 0, 0),
                            lambda xs: ret18(F.FFA_SUCCESS_64, 0, (48 << 48) | (1 << 16) | 1,
                                             0x0000_0301_0001_8001, *uuid64(SP1_UUID), 0, 0, V1_2,
                                             0x0000_0301_0001_8002, *uuid64(SP2_UUID), 0, 0, V1_2)),
    # A v1.1 caller: the reply is SMC64 but nonsecure_ffa_version < 1.2 -> SMC_RET8: the
    # second partition in x9-x14 is lost and the caller keeps its own x8-x17.
    "partition-info-regs-v1.1": ([V11], call(F.FFA_PARTITION_INFO_GET_REGS, 0, 0, 0),
                                 lambda xs: ret8(xs, F.FFA_SUCCESS_64, 0, (48 << 48) | (1 << 16) | 1,
                                                 0x0000_0301_0001_8001, *uuid64(SP1_UUID), 0, 0)),
    "partition-info-regs-start": ([V12], call(F.FFA_PARTITION_INFO_GET_REGS, 0, 0, 1),
                                  lambda xs: ret18(F.FFA_SUCCESS_64, 0, (48 << 48) | (1 << 16) | 1,
                                                   0x0000_0301_0001_8002, *uuid64(SP2_UUID), 0, 0, V1_2)),
    "partition-info-regs-tag": ([V12], call(F.FFA_PARTITION_INFO_GET_REGS, 0, 0, 1 << 16),
                                lambda xs: hf_err(xs, FfaError.RETRY)),
    "partition-info-regs-index": ([V12], call(F.FFA_PARTITION_INFO_GET_REGS, 0, 0, 2),
                                  lambda xs: hf_err(xs, INVAL)),
    # api_ffa_msg_send_direct_req: REQ_32 reaches the SP through api_ffa_dir_msg_value's
    # copy32, so the echo comes back zero-extended; RESP_32 is relayed with SMC_RET8.
    "direct-req-32": ([V12], REQ32, lambda xs: ret8(xs, F.FFA_MSG_SEND_DIRECT_RESP, 0x8001_0000, 0,
                                                   *[0xA0 + n for n in range(5)])),
    # std_svc_smc_handler clears bits [63:32] of x1-x4 of an SMC32 call, so garbage there
    # never reaches Hafnium; api_ffa_dir_msg_is_arg2_zero compares all 64 bits of x2 of
    # an SMC64 request.
    "direct-req-32-x2-upper": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ, 0x8001, GARBAGE),
                               lambda xs: ret8(xs, F.FFA_MSG_SEND_DIRECT_RESP, 0x8001_0000, 0,
                                               *[x & M32 for x in xs[3:8]])),
    "direct-req-64-x2-upper": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ_64, 0x8001, GARBAGE),
                               lambda xs: hf_err(xs, INVAL)),
    # Framework messages from the normal world: INVALID_PARAMETERS (direct_messaging.c).
    "direct-req-framework": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ, 0x8001, 0x8000_0004),
                             lambda xs: hf_err(xs, INVAL)),
    # spmd_smc_handler: a secure source ID from the normal world.
    "direct-req-secure-src": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ, 0x8002_8001, 0),
                              lambda xs: spmd_err(xs, INVAL)),
    # ffa_direct_msg_is_direct_request_valid / vm_find.
    "direct-req-no-sp": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ, 0x8009, 0), lambda xs: hf_err(xs, INVAL)),
    "direct-req-to-nwd": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ, 0x0005, 0), lambda xs: hf_err(xs, INVAL)),
    # A VM ID as source is accepted (the hypervisor speaks for its VMs).
    "direct-req-vm-src": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ_64, 0x0005_8001, 0, 7),
                          lambda xs: ret8(xs, F.FFA_MSG_SEND_DIRECT_RESP_64, 0x8001_0005, 0, 7,
                                          *xs[4:8])),
    # REQ_64 / RESP_64 at v1.2: SMC_RET18 both ways, Hafnium leaves x8-x17 as received:
    # the caller's own values come back.
    "direct-req-64": ([V12], REQ64, lambda xs: ret8(xs, F.FFA_MSG_SEND_DIRECT_RESP_64, 0x8001_0000, 0,
                                                   *PAYLOAD[3:8])),
    # REQ2: payload x4-x17, UUID in x2/x3 (ffa_uuid_from_u64x2); RESP2 x2-x3 zero.
    "direct-req2": ([V12], REQ2, lambda xs: ret18(F.FFA_MSG_SEND_DIRECT_RESP2, 0x8001_0000, 0, 0,
                                                 *PAYLOAD[4:18])),
    "direct-req2-null-uuid": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ2, 0x8002, 0, 0, *PAYLOAD[4:18]),
                              lambda xs: ret18(F.FFA_MSG_SEND_DIRECT_RESP2, 0x8002_0000, 0, 0,
                                               *PAYLOAD[4:18])),
    "direct-req2-wrong-uuid": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ2, 0x8002, *uuid64(SP1_UUID)),
                               lambda xs: hf_err(xs, INVAL)),
    # get_common_ffa_version < 1.2: the SPMD refuses REQ2 itself (before any FFA_VERSION
    # nonsecure_ffa_version is 0).
    "direct-req2-v1.1": ([V11], REQ2, lambda xs: spmd_err(xs, NS)),
    "direct-req2-unnegotiated": ([], REQ2, lambda xs: spmd_err(xs, NS)),
    # api_ffa_msg_send_direct_resp from the normal world.
    "direct-resp": ([V12], call(F.FFA_MSG_SEND_DIRECT_RESP, 0x0000_8001, 0), lambda xs: hf_err(xs, INVAL)),
    # api_ffa_mem_send: x3 is a 64-bit IPA (garbage in an SMC32 call's x3 is an address);
    # the handle is the share-state slot (bit 63 = SPMC allocator 0), FFA_SUCCESS_32 with
    # w2/w3 = low/high also for the SMC64 form (ffa_mem_success).
    "mem-share": ([V12, MAP], share(), lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0, 0)),
    "mem-share-64-second": ([V12, MAP, share()], share(F.FFA_MEM_SHARE_64),
                            lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 1, 0)),
    "mem-share-slot-reused": ([V12, MAP, share(), share(), call(F.FFA_MEM_RECLAIM, 0, 0, 0)],
                              share(), lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0, 0)),
    "mem-share-x3-upper": ([V12, MAP], share(x3=GARBAGE), lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0, 0)),
    "mem-share-64-x3-upper": ([V12, MAP], share(F.FFA_MEM_SHARE_64, x3=GARBAGE), lambda xs: hf_err(xs, INVAL)),
    "mem-share-no-tx": ([V12], share(), lambda xs: hf_err(xs, INVAL)),
    "mem-reclaim": ([V12, MAP, share()], call(F.FFA_MEM_RECLAIM, 0, 0, 0), lambda xs: ret8(xs, F.FFA_SUCCESS)),
    "mem-reclaim-unknown": ([V12, MAP, share()], call(F.FFA_MEM_RECLAIM, 5, 0, 0), lambda xs: hf_err(xs, INVAL)),
}

EL3_SPMC = {
    # spmd_smc_handler forwards FFA_VERSION to spmc_smc_handler -> ffa_version_handler:
    # SMC_RET1(1.2): only x0 changes, even x1 (the request) comes back as it was.
    "version-1.2": ([], version(GARBAGE | V1_2), lambda xs: ret(xs, V1_2)),
    # No compatibility check, no lock: every request is stored and 1.2 answered.
    "version-2.0": ([], version(V2_0), lambda xs: ret(xs, V1_2)),
    "version-renegotiate": ([V12, call(F.FFA_ID_GET)], V11, lambda xs: ret(xs, V1_2)),
    # Bit 31 is caught by the SPMD first: zero-extended, SMC_RET8.
    "version-bit31": ([], version(0x8001_0002), lambda xs: ret8(xs, NS & M32)),
    "id-get": ([V12], call(F.FFA_ID_GET), lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0)),
    "spm-id-get": ([V12], call(F.FFA_SPM_ID_GET), lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0x8000)),
    # ffa_features_handler: success is SMC_RET1(FFA_SUCCESS_SMC32), x1-x17 kept.
    "features-rxtx-map-32": ([V12], call(F.FFA_FEATURES, F.FFA_RXTX_MAP, GARBAGE),
                             lambda xs: ret(xs, F.FFA_SUCCESS)),
    "features-mem-share": ([V12], call(F.FFA_FEATURES, F.FFA_MEM_SHARE_64, 0), lambda xs: ret(xs, F.FFA_SUCCESS)),
    "features-input-props": ([V12], call(F.FFA_FEATURES, F.FFA_MEM_SHARE_64, 1), lambda xs: el3_err(xs, NS)),
    "features-feature-id": ([V12], call(F.FFA_FEATURES, 2, 0), lambda xs: el3_err(xs, NS)),
    "features-secure-only": ([V12], call(F.FFA_FEATURES, F.FFA_MSG_WAIT, 0), lambda xs: el3_err(xs, NS)),
    "features-info-get-regs": ([V12], call(F.FFA_FEATURES, F.FFA_PARTITION_INFO_GET_REGS, 0),
                               lambda xs: el3_err(xs, NS)),
    "features-retrieve-ns-bit": ([V12], call(F.FFA_FEATURES, F.FFA_MEM_RETRIEVE_REQ_64, 2),
                                 lambda xs: el3_err(xs, NS)),
    "features-retrieve": ([V12], call(F.FFA_FEATURES, F.FFA_MEM_RETRIEVE_REQ_64, 0),
                          lambda xs: ret(xs, F.FFA_SUCCESS)),
    # rxtx_map_handler uses x1/x2 as addresses: an SMC32 call's were cleared by
    # std_svc_smc_handler, an SMC64 call's upper halves make an unmappable address.
    "rxtx-map-32": ([V12], call(F.FFA_RXTX_MAP, TX, RX, GARBAGE | 1), lambda xs: ret(xs, F.FFA_SUCCESS)),
    "rxtx-map-32-x1-upper": ([V12], call(F.FFA_RXTX_MAP, GARBAGE | TX, RX, 1), lambda xs: ret(xs, F.FFA_SUCCESS)),
    "rxtx-map-64-x1-upper": ([V12], call(F.FFA_RXTX_MAP_64, GARBAGE | TX, RX, 1), lambda xs: el3_err(xs, INVAL)),
    "rxtx-map-again": ([V12, MAP], MAP, lambda xs: el3_err(xs, DENIED)),
    "rxtx-map-same": ([V12], call(F.FFA_RXTX_MAP_64, TX, TX, 1), lambda xs: el3_err(xs, INVAL)),
    # mmap_add_dynamic_region does not look for memory below PLAT_PHY_ADDR_SPACE_SIZE.
    "rxtx-map-no-memory": ([V12], call(F.FFA_RXTX_MAP_64, 0x9000_0000, 0x9000_1000, 1),
                           lambda xs: ret(xs, F.FFA_SUCCESS)),
    # rxtx_unmap_handler: x1 must be 0 (its upper half was cleared: SMC32).
    "rxtx-unmap": ([V12, MAP], call(F.FFA_RXTX_UNMAP, 0), lambda xs: ret(xs, F.FFA_SUCCESS)),
    "rxtx-unmap-x1-upper": ([V12, MAP], call(F.FFA_RXTX_UNMAP, GARBAGE), lambda xs: ret(xs, F.FFA_SUCCESS)),
    "rxtx-unmap-id": ([V12, MAP], call(F.FFA_RXTX_UNMAP, 1 << 16), lambda xs: el3_err(xs, INVAL)),
    "rx-release-empty": ([V12, MAP], call(F.FFA_RX_RELEASE), lambda xs: el3_err(xs, DENIED)),
    # partition_info_get_handler: SMC_RET4(FFA_SUCCESS, 0, count, size), x4-x17 kept;
    # size 0 for count-only and for a v1.0 caller; no RX buffer is BUSY.
    "partition-info-count": ([V12], call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 1),
                             lambda xs: ret(xs, F.FFA_SUCCESS, 0, 2, 0)),
    "partition-info": ([V12, MAP], call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0),
                       lambda xs: ret(xs, F.FFA_SUCCESS, 0, 2, 24)),
    "partition-info-v1.0": ([V10, MAP], call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0),
                            lambda xs: ret(xs, F.FFA_SUCCESS, 0, 2, 0)),
    "partition-info-uuid": ([V12, MAP], call(F.FFA_PARTITION_INFO_GET, *[GARBAGE | u for u in uuid32(SP1_UUID)], 0),
                            lambda xs: ret(xs, F.FFA_SUCCESS, 0, 1, 24)),
    "partition-info-no-rx": ([V12], call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0), lambda xs: el3_err(xs, BUSY)),
    "partition-info-bad-uuid": ([V12, MAP], call(F.FFA_PARTITION_INFO_GET, 1, 2, 3, 4, 0),
                                lambda xs: el3_err(xs, INVAL)),
    # direct_req_smc_handler -> spmc_smc_return -> spmd_smc_switch_state: the SP gets x1-x4
    # as std_svc_smc_handler left them (SMC32: upper halves cleared) and x5-x7 from the
    # caller's context as they were; the echo SP's RESP_32 comes back with SMC_RET8.
    "direct-req-32": ([V12], REQ32, lambda xs: ret8(xs, F.FFA_MSG_SEND_DIRECT_RESP, 0x8001_0000, 0,
                                                   xs[3] & M32, xs[4] & M32, *xs[5:8])),
    # direct_msg_validate_arg2: x2 (64 bits) MBZ for a partition message.
    "direct-req-32-x2-upper": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ, 0x8001, GARBAGE),
                               lambda xs: ret8(xs, F.FFA_MSG_SEND_DIRECT_RESP, 0x8001_0000, 0,
                                               xs[3] & M32, xs[4] & M32, *xs[5:8])),
    "direct-req-64-x2-upper": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ_64, 0x8001, GARBAGE),
                               lambda xs: el3_err(xs, INVAL)),
    "direct-req-framework": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ_64, 0x8001, (1 << 31) | (1 << 8)),
                             lambda xs: el3_err(xs, INVAL)),
    "direct-req-secure-src": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ, 0x8002_8001, 0),
                              lambda xs: spmd_err(xs, INVAL)),
    "direct-req-no-sp": ([V12], call(F.FFA_MSG_SEND_DIRECT_REQ, 0x8009, 0), lambda xs: el3_err(xs, INVAL)),
    "direct-req-64": ([V12], REQ64, lambda xs: ret8(xs, F.FFA_MSG_SEND_DIRECT_RESP_64, 0x8001_0000, 0,
                                                   *PAYLOAD[3:8])),
    "direct-req2": ([V12], REQ2, lambda xs: ret18(F.FFA_MSG_SEND_DIRECT_RESP2, 0x8001_0000, 0, 0,
                                                 *PAYLOAD[4:18])),
    # The SPMD's version gate (min(1.3, 1.1) < 1.2) comes first: zero-extended.
    "direct-req2-v1.1": ([V11], REQ2, lambda xs: spmd_err(xs, NS)),
    "direct-resp": ([V12], call(F.FFA_MSG_SEND_DIRECT_RESP, 0x0000_8001, 0), lambda xs: el3_err(xs, INVAL)),
    "ffa-error": ([V12], call(F.FFA_ERROR, 0, NS & M32), lambda xs: el3_err(xs, NS)),
    # Forwarded by the SPMD, unknown to spmc_smc_handler: its default, sign-extended.
    "msg-send2": ([V12], call(F.FFA_MSG_SEND2, 0), lambda xs: el3_err(xs, NS)),
    "partition-info-regs": ([V12], call(F.FFA_PARTITION_INFO_GET_REGS, 0, 0, 0), lambda xs: el3_err(xs, NS)),
    "unknown-ffa-number": ([V12], call(0x8400_0078), lambda xs: spmd_err(xs, NS)),
    # spmc_ffa_mem_send / spmc_ffa_fill_desc: handles from 0xffffffc0 upwards,
    # SMC_RET8(FFA_SUCCESS_SMC32, 0, low, high, 0, 0, 0, 0).
    "mem-share": ([V12, MAP], share(), lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0xFFFF_FFC0, 0)),
    # spmc_shmem_check_state_obj: the same pages again while the first share is in
    # flight overlap it (the refused object had consumed handle 0xffffffc1).
    "mem-share-overlap": ([V12, MAP, share()], share(F.FFA_MEM_LEND_64), lambda xs: el3_err(xs, INVAL)),
    "mem-share-after-overlap": ([V12, MAP, share(), share(), call(F.FFA_MEM_RECLAIM, 0xFFFF_FFC0, 0, 0)],
                                share(), lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0xFFFF_FFC2, 0)),
    "mem-share-never-reuses": ([V12, MAP, share(), call(F.FFA_MEM_RECLAIM, 0xFFFF_FFC0, 0, 0)], share(),
                               lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0xFFFF_FFC1, 0)),
    # x3 (address) must be 0: cleared for SMC32, 64 bits for SMC64; before any
    # FFA_VERSION (ffa_version 0) or at 2.0 the descriptor version is "bad"; the total
    # length must be 16-byte aligned (spmc_shmem_obj_alloc).
    "mem-share-x3-upper": ([V12, MAP], share(x3=GARBAGE), lambda xs: ret8(xs, F.FFA_SUCCESS, 0, 0xFFFF_FFC0, 0)),
    "mem-share-64-x3-upper": ([V12, MAP], share(F.FFA_MEM_SHARE_64, x3=GARBAGE), lambda xs: el3_err(xs, INVAL)),
    "mem-share-unnegotiated": ([MAP], share(), lambda xs: el3_err(xs, INVAL)),
    "mem-share-v2.0": ([version(V2_0), MAP], share(), lambda xs: el3_err(xs, INVAL)),
    "mem-share-misaligned-length": ([V12, MAP], call(F.FFA_MEM_SHARE, len(DESC) + 8, len(DESC), 0, 0),
                                    lambda xs: el3_err(xs, FfaError.NO_MEMORY)),
    "mem-share-no-tx": ([V12], share(), lambda xs: el3_err(xs, INVAL)),
    # A first fragment: FFA_MEM_FRAG_RX(handle low, high, bytes received, sender << 16).
    "mem-share-fragment": ([V12, MAP], call(F.FFA_MEM_SHARE, len(DESC) + 16, len(DESC), 0, 0),
                           lambda xs: ret8(xs, F.FFA_MEM_FRAG_RX, 0xFFFF_FFC0, 0, len(DESC), 0)),
    # spmc_ffa_mem_reclaim: flags (w3) MBZ; SMC_RET1 on success.
    "mem-reclaim": ([V12, MAP, share()], call(F.FFA_MEM_RECLAIM, 0xFFFF_FFC0, 0, 0),
                    lambda xs: ret(xs, F.FFA_SUCCESS)),
    "mem-reclaim-flags": ([V12, MAP, share()], call(F.FFA_MEM_RECLAIM, 0xFFFF_FFC0, 0, 1),
                          lambda xs: el3_err(xs, INVAL)),
}

CASES = [("tfa-spmd", k, *v) for k, v in SPMD_HAFNIUM.items()] + \
        [("tfa-el3-spmc", k, *v) for k, v in EL3_SPMC.items()]


@pytest.mark.parametrize("spec, case, setup, xs, expected", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_registers(spec, case, setup, xs, expected):
    check(spec, setup, xs, expected(xs))


def test_el3_spmc_rx_buffer_without_memory_faults():
    """The EL3 SPMC mapped an RX buffer where QEMU has no memory (rxtx_map_handler does
    not check): partition_info_get_handler's memset of it takes a data abort at EL3."""
    from ffaemu.models.fw.base import FirmwarePanic
    model = FIRMWARE.create("tfa-el3-spmc")
    mem = Machine().memory
    for regs in (V12, call(F.FFA_RXTX_MAP_64, 0x9000_0000, 0x9000_1000, 1)):
        model.handle(Call(regs), mem)
    with pytest.raises(FirmwarePanic, match="RX buffer at 0x90001000"):
        model.handle(Call(call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0)), mem)


def _rx_after_partition_info(spec, version_call):
    model = FIRMWARE.create(spec)
    mem = Machine().memory
    for regs in (version_call, MAP, call(F.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0)):
        model.handle(Call(regs), mem)
    return mem.read(RX, 96)


def test_hafnium_partition_descriptors():
    """struct ffa_partition_info (inc/vmapi/hf/ffa.h, 48 bytes): ID, vCPU count,
    properties, protocol UUID, image UUID (none), partition FF-A version, reserved."""
    rx = _rx_after_partition_info("tfa-spmd", V12)
    assert rx == b"".join(struct.pack("<HHI16s16sII", sp, 1, 0x301, uuid, bytes(16), V1_2, 0)
                          for sp, uuid in ((0x8001, SP1_UUID), (0x8002, SP2_UUID)))


def test_hafnium_partition_descriptors_v1_0():
    """ffa_partition_info_v1_0: properties masked to bits [2:0] (FFA_PARTITION_v1_0_RES_MASK)."""
    rx = _rx_after_partition_info("tfa-spmd", V10)
    assert rx[:16] == struct.pack("<HHIHHI", 0x8001, 1, 0x1, 0x8002, 1, 0x1)


def test_el3_spmc_partition_descriptors():
    """struct ffa_partition_info_v1_1 (24 bytes) with PLATFORM_CORE_COUNT (32 on QEMU
    AArch64) execution contexts and the manifest properties | AArch64 (bit 8)."""
    rx = _rx_after_partition_info("tfa-el3-spmc", V12)
    assert rx[:48] == b"".join(struct.pack("<HHI16s", sp, 32, 0x703, uuid)
                               for sp, uuid in ((0x8001, SP1_UUID), (0x8002, SP2_UUID)))


@pytest.mark.parametrize("spec", ["tfa-spmd", "tfa-el3-spmc"])
def test_direct_req2_through_the_machine(spec, tmp_path):
    """REQ2's x4-x17 payload and RESP2's x0-x17, through the real SMC trap path."""
    from ffaemu.runner import run_guest
    res = 0x4030_0000
    sets = "\n".join(f"    ldr x{n}, ={PAYLOAD[n]:#x}" for n in range(4, 18))
    stores = "\n".join(f"    stp x{n}, x{n + 1}, [x29, #{8 * n}]" for n in range(0, 18, 2))
    src = tmp_path / "req2.S"
    src.write_text(f"""
_start:
    ldr x0, =0x84000063
    ldr x1, =0x10002
    smc #0
    ldr x0, =0xC400008D
    ldr x1, =0x8001
    mov x2, #0
    mov x3, #0
{sets}
    smc #0
    ldr x29, ={res:#x}
{stores}
    ldr x0, =0x84000008
    smc #0
""")
    run = run_guest(src, spec)
    assert run.result.reason.value == "system-off", run.result.message
    got = list(struct.unpack("<18Q", run.machine.memory.read(res, 8 * 18)))
    assert got == ret18(F.FFA_MSG_SEND_DIRECT_RESP2, 0x8001_0000, 0, 0, *PAYLOAD[4:18])


@pytest.mark.parametrize("spec, expected_x1_x7", [
    # spmd_smc_handler relays the SPMC's answer with x1-x7 zero (SMC_RET8)...
    ("tfa-spmd", [0] * 7),
    # ... while the EL3 SPMC's ffa_version_handler writes x0 only (SMC_RET1): x1 still
    # holds the request.
    ("tfa-el3-spmc", [V1_1] + [S(n) for n in range(2, 8)]),
])
def test_version_registers_through_the_machine(spec, expected_x1_x7, tmp_path):
    """FFA_VERSION(1.1) with a sentinel in x2-x17, through the real SMC trap path."""
    from ffaemu.runner import run_guest
    res = 0x4030_0000
    sets = "\n".join(f"    ldr x{n}, ={S(n):#x}" for n in range(2, 18))
    stores = "\n".join(f"    stp x{n}, x{n + 1}, [x29, #{8 * n}]" for n in range(0, 18, 2))
    src = tmp_path / "version.S"
    src.write_text(f"""
_start:
{sets}
    ldr x0, =0x84000063
    ldr x1, =0x10001
    smc #0
    ldr x29, ={res:#x}
{stores}
    ldr x0, =0x84000008
    smc #0
""")
    run = run_guest(src, spec)
    assert run.result.reason.value == "system-off", run.result.message
    got = list(struct.unpack("<18Q", run.machine.memory.read(res, 8 * 18)))
    answer = V1_3 if spec == "tfa-spmd" else V1_2
    assert got == [answer, *expected_x1_x7] + [S(n) for n in range(8, 18)]
