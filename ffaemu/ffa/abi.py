"""FF-A function identifiers, error codes and version encoding (DEN0077 v1.2 §13, §15).

Every ID is composed from SMCCC fields (`smccc.fid`) and named from one enum, `FfaId`;
traces take their names from it.
"""
from __future__ import annotations

import enum

from ..arch.bits import Field, s32
from .smccc import FID_NUMBER, FID_OWNER, FID_SMC64, Owner, fid


class Func(enum.IntEnum):
    """FF-A function numbers, FID bits [15:0] (DEN0077 table 13.1)."""

    ERROR = 0x60
    SUCCESS = 0x61
    INTERRUPT = 0x62
    VERSION = 0x63
    FEATURES = 0x64
    RX_RELEASE = 0x65
    RXTX_MAP = 0x66
    RXTX_UNMAP = 0x67
    PARTITION_INFO_GET = 0x68
    ID_GET = 0x69
    MSG_POLL = 0x6A
    MSG_WAIT = 0x6B
    YIELD = 0x6C
    RUN = 0x6D
    MSG_SEND = 0x6E
    MSG_SEND_DIRECT_REQ = 0x6F
    MSG_SEND_DIRECT_RESP = 0x70
    MEM_DONATE = 0x71
    MEM_LEND = 0x72
    MEM_SHARE = 0x73
    MEM_RETRIEVE_REQ = 0x74
    MEM_RETRIEVE_RESP = 0x75
    MEM_RELINQUISH = 0x76
    MEM_RECLAIM = 0x77
    MEM_FRAG_RX = 0x7A
    MEM_FRAG_TX = 0x7B
    NORMAL_WORLD_RESUME = 0x7C
    NOTIFICATION_BITMAP_CREATE = 0x7D
    NOTIFICATION_BITMAP_DESTROY = 0x7E
    NOTIFICATION_BIND = 0x7F
    NOTIFICATION_UNBIND = 0x80
    NOTIFICATION_SET = 0x81
    NOTIFICATION_GET = 0x82
    NOTIFICATION_INFO_GET = 0x83
    RX_ACQUIRE = 0x84
    SPM_ID_GET = 0x85
    MSG_SEND2 = 0x86
    SECONDARY_EP_REGISTER = 0x87
    MEM_PERM_GET = 0x88
    MEM_PERM_SET = 0x89
    CONSOLE_LOG = 0x8A
    PARTITION_INFO_GET_REGS = 0x8B
    EL3_INTR_HANDLE = 0x8C
    MSG_SEND_DIRECT_REQ2 = 0x8D
    MSG_SEND_DIRECT_RESP2 = 0x8E
    ABORT = 0x90


F = Func
HAS_SMC64 = {F.SUCCESS, F.RXTX_MAP, F.MSG_SEND_DIRECT_REQ, F.MSG_SEND_DIRECT_RESP, F.MEM_DONATE,
             F.MEM_LEND, F.MEM_SHARE, F.MEM_RETRIEVE_REQ, F.NOTIFICATION_INFO_GET,
             F.SECONDARY_EP_REGISTER, F.MEM_PERM_GET, F.MEM_PERM_SET, F.CONSOLE_LOG,
             F.PARTITION_INFO_GET_REGS, F.MSG_SEND_DIRECT_REQ2, F.MSG_SEND_DIRECT_RESP2, F.ABORT}
SMC64_ONLY = {F.SECONDARY_EP_REGISTER, F.PARTITION_INFO_GET_REGS, F.MSG_SEND_DIRECT_REQ2,
              F.MSG_SEND_DIRECT_RESP2}


def ffa_fid(func: Func, smc64: bool = False) -> int:
    """The FF-A function ID: a fast call owned by the standard secure service."""
    if smc64 and func not in HAS_SMC64:
        raise ValueError(f"FFA_{func.name} has no SMC64 form")
    if not smc64 and func in SMC64_ONLY:
        raise ValueError(f"FFA_{func.name} has only an SMC64 form")
    return fid(func, Owner.STANDARD, smc64=smc64)


def _id_names() -> dict[str, int]:
    names = {}
    for func in Func:
        if func not in SMC64_ONLY:
            names[f"FFA_{func.name}"] = ffa_fid(func)
        if func in HAS_SMC64:
            names[f"FFA_{func.name}" + ("" if func in SMC64_ONLY else "_64")] = ffa_fid(func, True)
    return names


FfaId = enum.IntEnum("FfaId", _id_names())
FfaId.__doc__ = "Every FF-A function ID by name: FFA_X (SMC32) and FFA_X_64 (SMC64)."


def func_of(fid_value: int) -> Func | None:
    """The FF-A function a 32-bit FID names, or None if it is not an FF-A ID."""
    fid_value &= 0xFFFF_FFFF
    if FID_OWNER.get(fid_value) != Owner.STANDARD or fid_value & 0x00FE_0000:
        return None
    num = FID_NUMBER.get(fid_value)
    if num not in Func._value2member_map_ or fid_value >> 31 != 1:
        return None
    func = Func(num)
    smc64 = bool(FID_SMC64.get(fid_value))
    if (smc64 and func not in HAS_SMC64) or (not smc64 and func in SMC64_ONLY):
        return None
    return func


def is_smc64(fid_value: int) -> bool:
    return bool(FID_SMC64.get(fid_value & 0xFFFF_FFFF))


def id_name(fid_value: int) -> str | None:
    try:
        return FfaId(fid_value & 0xFFFF_FFFF).name
    except ValueError:
        return None


class FfaError(enum.IntEnum):
    """FF-A error codes, an int32 in w2 of FFA_ERROR (DEN0077 table 13.x "Error status codes")."""

    NOT_SUPPORTED = -1
    INVALID_PARAMETERS = -2
    NO_MEMORY = -3
    BUSY = -4
    INTERRUPTED = -5
    DENIED = -6
    RETRY = -7
    ABORTED = -8
    NO_DATA = -9
    NOT_READY = -10


def error_name(value: int) -> str:
    """Name of an int32 error code read from a W register."""
    code = s32(value)
    return FfaError(code).name if code in FfaError._value2member_map_ else f"error {code}"


# Version word (DEN0077 §13.2): bit 31 MBZ, major [30:16], minor [15:0].
VERSION_MBZ = Field(31, 31)
VERSION_MAJOR = Field(30, 16)
VERSION_MINOR = Field(15, 0)


def version(major: int, minor: int) -> int:
    return VERSION_MAJOR.prep(major) | VERSION_MINOR.prep(minor)


V1_0, V1_1, V1_2, V1_3 = (version(1, m) for m in range(4))


def version_str(word: int) -> str:
    word &= 0xFFFF_FFFF
    text = f"{VERSION_MAJOR.get(word)}.{VERSION_MINOR.get(word)}"
    return text + " (bit 31 set)" if VERSION_MBZ.get(word) else text


def compatible(caller: int, callee: int) -> bool:
    """Same major and the caller's minor not above the callee's (DEN0077 §13.2.1)."""
    return (VERSION_MAJOR.get(caller) == VERSION_MAJOR.get(callee)
            and VERSION_MINOR.get(caller) <= VERSION_MINOR.get(callee))


NOT_SUPPORTED_W = FfaError.NOT_SUPPORTED & 0xFFFF_FFFF     # 0xffffffff in w0/w2
