"""Readable renderings of SMCCC/FF-A calls and results, with width notes, for traces."""
from __future__ import annotations

from ..arch.bits import s32, upper_half, upper_kind, w
from .abi import FfaId, Func, error_name, func_of, id_name, version_str
from .smccc import Psci, VendorHyp

_PSCI_NAMES = {p.value: f"PSCI_{p.name}" for p in Psci}
_PSCI_NAMES.update({h.value: h.name for h in VendorHyp})


def fid_name(fid: int) -> str:
    """Name of a function ID from the enums, or its hex value."""
    fid = w(fid)
    return id_name(fid) or _PSCI_NAMES.get(fid) or f"SMC {fid:#010x}"


def width_note(value: int, reg: str) -> str:
    """'x0 zero-extended' / 'x0 sign-extended' / 'x0 upper half 0x1234abcd'."""
    kind = upper_kind(value)
    if kind == "other":
        return f"x{reg} upper half {upper_half(value):#x}"
    return f"x{reg} {kind}-extended"


def describe_call(xs: list[int]) -> str:
    """e.g. `FFA_VERSION(1.2)`, `FFA_FEATURES(FFA_RXTX_MAP_64)`, `FFA_MEM_RECLAIM(0x1, 0x0)`."""
    fid = w(xs[0])
    func = func_of(fid)
    name = fid_name(fid)
    if fid in _PSCI_NAMES:
        return f"{name}()"
    if func is None:
        return f"{name}({', '.join(f'{v:#x}' for v in xs[1:4])})"
    if func is Func.VERSION:
        return f"{name}({version_str(xs[1])})"
    if func is Func.FEATURES:
        return f"{name}({fid_name(xs[1])})"
    if func in (Func.ID_GET, Func.SPM_ID_GET, Func.RX_RELEASE):
        return f"{name}()"
    if func is Func.RXTX_MAP:
        return f"{name}(tx={xs[1]:#x}, rx={xs[2]:#x}, pages={w(xs[3])})"
    if func in (Func.MSG_SEND_DIRECT_REQ, Func.MSG_SEND_DIRECT_RESP):
        return f"{name}({w(xs[1]) >> 16:#x} -> {w(xs[1]) & 0xFFFF:#x}, {xs[3]:#x}, {xs[4]:#x})"
    if func in (Func.MEM_SHARE, Func.MEM_LEND, Func.MEM_DONATE):
        return f"{name}(total={w(xs[1])}, fragment={w(xs[2])}, addr={xs[3]:#x})"
    if func is Func.MEM_RECLAIM:
        return f"{name}(handle={(w(xs[2]) << 32) | w(xs[1]):#x}, flags={w(xs[3]):#x})"
    return f"{name}({', '.join(f'{w(v):#x}' for v in xs[1:4])})"


def describe_result(call_fid: int, xs: list[int]) -> str:
    """The result of `call_fid` as the W view says, with the width of the error registers."""
    func = func_of(call_fid)
    w0 = w(xs[0])
    if w(call_fid) == Psci.VERSION and s32(w0) >= 0:
        return f"PSCI {w0 >> 16}.{w0 & 0xFFFF} (w0={w0:#x})"
    if func is Func.VERSION:
        if s32(w0) < 0:
            return f"{error_name(w0)} (w0={w0:#x}, {width_note(xs[0], '0')})"
        return f"{version_str(w0)} (w0={w0:#x})"
    if w0 == FfaId.FFA_ERROR:
        return f"FFA_ERROR {error_name(xs[2])} (w2={w(xs[2]):#x}, {width_note(xs[2], '2')})"
    if w0 in (FfaId.FFA_SUCCESS, FfaId.FFA_SUCCESS_64):
        return f"{fid_name(w0)}(w2={w(xs[2]):#x}, w3={w(xs[3]):#x})"
    if func is not None and func_of(w0) is not None:
        return f"{fid_name(w0)}({', '.join(f'{w(v):#x}' for v in xs[1:5])})"
    if s32(w0) == -1:
        return f"-1 (w0={w0:#x}, {width_note(xs[0], '0')})"
    if xs[0] >> 63:
        return f"x0={xs[0] - (1 << 64)} ({xs[0]:#x})"
    return f"x0={xs[0]:#x}"
