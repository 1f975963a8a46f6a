"""FF-A memory transaction descriptors (DEN0077 v1.1+ §10.11 "Memory transaction
descriptor"; v1.0 §5.11), as written into a TX buffer for FFA_MEM_SHARE/LEND."""
from __future__ import annotations

import struct
from dataclasses import dataclass

PAGE = 0x1000
# sender, attributes, flags, handle, tag, endpoint-descriptor size, count, offset
MTD_V11 = struct.Struct("<HHIQQIII12x")
MTD_V10 = struct.Struct("<HBxIQQ4xI")              # sender, attributes, flags, handle, tag, count
EMAD = struct.Struct("<HBBI8x")                    # receiver, permissions, flags, composite offset
COMPOSITE = struct.Struct("<II8x")                 # total pages, address range count
RANGE = struct.Struct("<QI4x")                     # address, pages


@dataclass(frozen=True)
class MemRegion:
    sender: int
    receivers: tuple[int, ...]
    total_pages: int
    ranges: tuple[tuple[int, int], ...]            # (address, pages)


def parse(desc: bytes, v10: bool = False) -> MemRegion:
    """Decode a descriptor; raise ValueError when it is truncated or inconsistent."""
    try:
        if v10:
            sender, _, _, _, _, count = MTD_V10.unpack_from(desc)
            ep_size, ep_offset = EMAD.size, MTD_V10.size
        else:
            sender, _, _, _, _, ep_size, count, ep_offset = MTD_V11.unpack_from(desc)
        if not count or ep_size < EMAD.size:
            raise ValueError("no endpoint memory access descriptor")
        receivers, composite = [], None
        for n in range(count):
            rid, _, _, comp = EMAD.unpack_from(desc, ep_offset + n * ep_size)
            receivers.append(rid)
            composite = comp if composite is None else composite
        total_pages, nranges = COMPOSITE.unpack_from(desc, composite)
        ranges = tuple(RANGE.unpack_from(desc, composite + COMPOSITE.size + n * RANGE.size)
                       for n in range(nranges))
    except struct.error as e:
        raise ValueError(f"truncated descriptor: {e}") from None
    if not ranges or sum(p for _, p in ranges) != total_pages:
        raise ValueError("address ranges do not add up to the total page count")
    return MemRegion(sender, tuple(receivers), total_pages, ranges)


def build(sender: int, receiver: int, address: int, pages: int, perms: int = 0x6) -> bytes:
    """A v1.1+ descriptor for one receiver and one address range (for tests and tools)."""
    mtd = MTD_V11.pack(sender, 0x2F, 0, 0, 0, EMAD.size, 1, MTD_V11.size)
    emad = EMAD.pack(receiver, perms, 0, MTD_V11.size + EMAD.size)
    return mtd + emad + COMPOSITE.pack(pages, 1) + RANGE.pack(address, pages)
