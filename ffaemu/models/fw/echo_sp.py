"""The secure partitions behind the modelled SPMCs: echo partitions.

No upstream SP is modelled: these are ffaemu's own test partitions. Each answers a
direct request with the matching response, swapping source and destination, and returns
its own copy of the payload registers (x3-x7 for FFA_MSG_SEND_DIRECT_REQ, x4-x17 for REQ2;
DEN0077 v1.2 §15.2-§15.5). What an SPMC does to those registers on the way in and out is
the SPMC model's business; so that it can be checked, a partition records each request as
it received it and its response (`Delivery`, in the firmware model's
`FfaServices.deliveries`), and the firmware model adds the call as the normal world made
it and its answer: the register checker (ffa/smccc_rules.py, `check_deliveries`) holds
the two ends of each direct message to DEN0077's payload rule.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...ffa.abi import V1_2, FfaId

PROP_DIRECT_REQ_RECV = 1 << 0      # FFA_PARTITION_DIRECT_REQ_RECV (DEN0077 table 6.x)
PROP_DIRECT_REQ_SEND = 1 << 1
PROP_AARCH64 = 1 << 8              # execution state AArch64 (bit 8)
PROP_DIRECT_REQ2_RECV = 1 << 9
PROP_DIRECT_REQ2_SEND = 1 << 10

RESPONSE = {
    FfaId.FFA_MSG_SEND_DIRECT_REQ: FfaId.FFA_MSG_SEND_DIRECT_RESP,
    FfaId.FFA_MSG_SEND_DIRECT_REQ_64: FfaId.FFA_MSG_SEND_DIRECT_RESP_64,
    FfaId.FFA_MSG_SEND_DIRECT_REQ2: FfaId.FFA_MSG_SEND_DIRECT_RESP2,
}


@dataclass(frozen=True)
class EchoSp:
    """An SP as its manifest describes it: ID, protocol UUID (the four w1-w4 words of
    FFA_PARTITION_INFO_GET as little-endian bytes), vCPU count, FF-A version and
    messaging methods."""

    id: int
    uuid: bytes
    vcpus: int = 1
    version: int = V1_2
    methods: int = PROP_DIRECT_REQ_RECV | PROP_DIRECT_REQ_SEND | PROP_DIRECT_REQ2_RECV \
        | PROP_DIRECT_REQ2_SEND

    def uuid_words(self) -> tuple[int, int, int, int]:
        return tuple(int.from_bytes(self.uuid[4 * n:4 * n + 4], "little") for n in range(4))

    def respond(self, fid: int, xs: list[int], log: list | None = None) -> list[int]:
        """x0-x17 of the SP's answer to a request it received in `xs` (x0-x17); with
        `log`, the request and the answer are appended to it as a `Delivery`."""
        src, dst = (xs[1] >> 16) & 0xFFFF, xs[1] & 0xFFFF
        out = [RESPONSE[fid], (dst << 16) | src, 0] + list(xs[3:18])
        if fid == FfaId.FFA_MSG_SEND_DIRECT_REQ2:
            out[3] = 0                    # x2-x3 of RESP2 are reserved (MBZ)
        if log is not None:
            log.append(Delivery(self.id, (list(xs) + [0] * 18)[:18], out))
        return out


@dataclass
class Delivery:
    """One direct request at an echo partition: x0-x17 as it `received` them and its
    `response`; `sent` and `answer` are x0-x17 of the firmware's caller before and after
    the call that carried it (set by Firmware.__call__; `answer` None if it never returned)."""

    sp: int
    received: list[int]
    response: list[int]
    sent: list[int] | None = None
    answer: list[int] | None = None


ECHO_SPS = (
    EchoSp(0x8001, bytes.fromhex("b4b5671e4a904fe1b81ffb13dae1dacb")),
    EchoSp(0x8002, bytes.fromhex("d1582309f02347b9827c4464f5578fc8")),
)
