"""The SPMC's answer to a hypervisor retrieve request (DEN0077 v1.2 §10.x "Hypervisor
retrieve request"): an FFA_MEM_RETRIEVE_REQ from the normal world's ID 0 whose
descriptor names no receiver (endpoint memory access count 0) asks for the description
of a region the normal world shared, so that a hypervisor (pKVM's do_ffa_mem_reclaim)
can learn its pages before FFA_MEM_RECLAIM.

Hafnium lts-v2.14.1 src/ffa_memory.c: is_ffa_hypervisor_retrieve_request() (receiver
count 0), ffa_hypervisor_retrieve_request() and ffa_hypervisor_retrieve_response_init()
(the sender's region in the caller's layout, written to the caller's RX buffer, answered
FFA_MEM_RETRIEVE_RESP with w1 = total length, w2 = fragment length). TF-A lts-v2.14.6
el3_spmc/spmc_shared_mem.c spmc_ffa_mem_retrieve_req() also serves it ("retrieve by
hypervisor"). OP-TEE 4.10.0 does not (thread_spmc.c has no normal-world handler).
"""
from __future__ import annotations

import struct

from ...ffa import memdesc
from ...ffa.abi import V1_2, FfaError

MEM_REGION = struct.Struct("<HHIQQIII12x")     # the v1.1+ memory transaction descriptor
REQUEST_MIN = MEM_REGION.size
EMAD_V1_1 = 16                                 # struct ffa_memory_access_v1_0
EMAD_V1_2 = 32                                 # with the 16-byte impdef field


class Refused(Exception):
    def __init__(self, code: FfaError):
        super().__init__(code.name)
        self.code = code


def is_hypervisor_retrieve(request: bytes) -> bool:
    """is_ffa_hypervisor_retrieve_request(): the receiver count is 0."""
    return len(request) >= REQUEST_MIN and MEM_REGION.unpack_from(request)[6] == 0


def response(request: bytes, shares: dict, version: int) -> bytes:
    """The retrieve response for the handle in `request` (raise Refused if unknown)."""
    handle = MEM_REGION.unpack_from(request)[3]
    share = shares.get(handle)
    if share is None:
        raise Refused(FfaError.INVALID_PARAMETERS)
    emad = EMAD_V1_2 if version >= V1_2 else EMAD_V1_1
    receivers = len(share.receivers)
    composite = MEM_REGION.size + receivers * emad
    out = bytearray(composite + memdesc.COMPOSITE.size + len(share.ranges) * memdesc.RANGE.size)
    MEM_REGION.pack_into(out, 0, share.sender, 0x2F, 0, handle, 0, emad, receivers, MEM_REGION.size)
    for n, rid in enumerate(share.receivers):
        memdesc.EMAD.pack_into(out, MEM_REGION.size + n * emad, rid, 0x6, 0, composite)
    memdesc.COMPOSITE.pack_into(out, composite, sum(p for _, p in share.ranges), len(share.ranges))
    for n, (addr, pages) in enumerate(share.ranges):
        memdesc.RANGE.pack_into(out, composite + memdesc.COMPOSITE.size + n * memdesc.RANGE.size,
                                addr, pages)
    return bytes(out)
