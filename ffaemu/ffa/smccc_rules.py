"""SMCCC v1.2 register-use rules and the FF-A result rules, as one checker.

Every layer's answer to a call (an EL3 model, an EL2 model, the harness delivering it,
and what the guest finally sees) goes through `check(args, rets)`: x0-x17 before the
call and after it. The rules, with where their text comes from:

- `SMC32_PRESERVES` — DEN0028C (SMCCC v1.2) §2.6, "SMC32/HVC32 call from aarch64 must
  preserve x8-x30" (quoted in Linux arch/arm64/kvm/hyp/nvhe/ffa.c, ffa_set_retval()).
  Arguments and results are W0-W7; bits [63:32] of x0-x7 are not the callee's to read,
  and what it leaves there is not defined (so they are never checked here).
- `SMC64_UNUSED_PRESERVED` — DEN0028C §2.7: an SMC64/HVC64 call passes x1-x17 and may
  return x0-x17, but "x4-x17 may additionally be defined as result registers, otherwise
  they remain preserved" (SMCCC 1.1 made x4-x17 callee-saved; 1.2 lets a function define
  them as results: Linux commit 3fdc0cb59d97 "SMCCC v1.2 allows x8-x17 to be used as
  parameter registers and x4-x17 to be used as result registers in SMC64/HVC64"; Arm's
  summary on xen-devel: "1.1: x4-x17 must be preserved. 1.2: x4-x17 may additionally be
  defined as result registers, otherwise they remain preserved"). An unused result
  register therefore holds the caller's value; a constant zero is also accepted (what
  TF-A's SPMD and Hafnium write for results they do not define; SMCCC v1.2's own text on
  unused result registers was not in the searchable corpus, so it is not quoted here).
  Anything else (another context's values) is a leak.
- `FFA_RESERVED_MBZ` — DEN0077 (FF-A v1.2), the syntax table of each ABI: registers a
  response does not define are "Reserved (MBZ)" (FFA_VERSION: w1-w7; FFA_ERROR: w3-w7;
  FFA_SUCCESS: what follows the called function's results).
- `PROXY_RELAYS_PAYLOAD` — a proxy forwarding a direct request must hand back the
  partition's payload unchanged (x3-x7 of MSG_SEND_DIRECT_RESP, x4-x17 of RESP2;
  DEN0077 v1.2 §15.2-§15.5): pKVM's header comment, "Forwarded on unmodified to the SPMD".
- `PARTITION_GETS_PAYLOAD` — DEN0077 v1.2 §15.2-§15.5 (FFA_MSG_SEND_DIRECT_REQ/RESP,
  _REQ2/_RESP2): the payload registers (w3-w7 of the 32-bit messages, x3-x7 of the 64-bit
  ones, x4-x17 of REQ2/RESP2) are the message: they reach the receiver as the sender wrote
  them, in both directions. Checked where the firmware hands a normal-world request to one
  of ffaemu's echo partitions (models/fw/echo_sp.py records what it received) and hands
  the partition's response back (`check_deliveries`).

A model may declare rules it knowingly breaks (`smccc_deviations = {rule: reason}`, e.g.
pKVM, which since 6f4c348b1d5c writes x0-x17 for SMC32 calls too); the checker still
reports them, marked as declared.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from ..arch.bits import MASK64, w
from .abi import FfaId, Func, func_of, id_name, is_smc64

SMCCC_REGS = 18                 # x0-x17 (DEN0028C §2.6-§2.7)
SMC32_RESULTS = 8               # w0-w7
SMC64_ALWAYS_RESULTS = 4        # x0-x3 are results of every SMC64 call (SMCCC 1.0)
NOT_SUPPORTED_W = 0xFFFF_FFFF


class Rule(str, enum.Enum):
    SMC32_PRESERVES = "smc32-preserves-x8-x17"
    SMC64_UNUSED_PRESERVED = "smc64-unused-results-preserved"
    FFA_RESERVED_MBZ = "ffa-reserved-mbz"
    PROXY_RELAYS_PAYLOAD = "proxy-relays-payload"
    HARNESS_DELIVERS = "harness-delivers-answer"
    PARTITION_GETS_PAYLOAD = "direct-payload-delivered"


CITATION = {
    Rule.SMC32_PRESERVES: "DEN0028C §2.6: an SMC32/HVC32 call preserves x8-x30",
    Rule.SMC64_UNUSED_PRESERVED: "DEN0028C §2.7: x4-x17 not defined as results are preserved",
    Rule.FFA_RESERVED_MBZ: "DEN0077 v1.2: reserved result registers MBZ",
    Rule.PROXY_RELAYS_PAYLOAD: "DEN0077 v1.2 §15: a direct response's payload reaches the sender",
    Rule.HARNESS_DELIVERS: "the ERET back to the caller carries exactly the model's answer",
    Rule.PARTITION_GETS_PAYLOAD: "DEN0077 v1.2 §15.2-§15.5: a direct message's payload reaches "
                                 "the receiver as sent",
}

# FFA_SUCCESS: how many of w0.. the response to each function defines (DEN0077 v1.2
# tables: ID_GET/SPM_ID_GET w2; FEATURES w2-w3; PARTITION_INFO_GET w2 count, w3 size;
# MEM_SHARE/LEND w2-w3 handle; RXTX_MAP/UNMAP, RX_RELEASE, MEM_RECLAIM nothing after w1).
SUCCESS_DEFINES = {
    Func.ID_GET: 3, Func.SPM_ID_GET: 3, Func.FEATURES: 4, Func.PARTITION_INFO_GET: 4,
    Func.MEM_SHARE: 4, Func.MEM_LEND: 4, Func.RXTX_MAP: 2, Func.RXTX_UNMAP: 2,
    Func.RX_RELEASE: 2, Func.MEM_RECLAIM: 2,
}
ERROR_DEFINES = 3               # w0 FFA_ERROR, w1 target info, w2 error code
PAYLOAD = {Func.MSG_SEND_DIRECT_RESP: range(3, 8), Func.MSG_SEND_DIRECT_RESP2: range(4, 18)}
REQUEST_PAYLOAD = {Func.MSG_SEND_DIRECT_REQ: range(3, 8), Func.MSG_SEND_DIRECT_REQ2: range(4, 18)}


@dataclass(frozen=True)
class Violation:
    """One register of one answer that breaks a rule."""

    rule: Rule
    reg: int
    call: str                   # the called function's name
    layer: str                  # who answered: "EL3 tfa-spmd", "EL2 pkvm", "guest view", ...
    expected: str
    got: int
    declared: str = ""          # the model's own reason, when it declares this deviation

    def __str__(self) -> str:
        tag = f" (declared: {self.declared})" if self.declared else ""
        return (f"{self.layer}: {self.call} x{self.reg}={self.got:#018x}, expected {self.expected} "
                f"[{self.rule.value}: {CITATION[self.rule]}]{tag}")


def call_name(fid: int) -> str:
    return id_name(w(fid)) or f"{w(fid):#010x}"


def response_is_smc64(fid: int, rets: list[int]) -> bool:
    """Whether an answer's x0-x7 are X values: an FF-A response follows its own function
    ID's convention (FFA_ERROR and FFA_SUCCESS_32 are SMC32 even after an SMC64 call:
    DEN0077 v1.2 §11.2), anything else the call's."""
    if func_of(w(rets[0])) is not None:
        return is_smc64(w(rets[0]))
    return is_smc64(w(fid))


def result_view(fid: int, rets: list[int]):
    """The significant view of each of x0-x7 of an answer: X or W."""
    return (lambda v: v & MASK64) if response_is_smc64(fid, rets) else w


def _result_count(fid: int, rets: list[int]) -> int:
    """How many of x0.. an SMC64 call's answer defines as results."""
    func = func_of(w(rets[0]))
    if func is Func.MSG_SEND_DIRECT_RESP2:
        return SMCCC_REGS
    if func_of(w(fid)) is not None or func is not None:
        return SMC32_RESULTS                     # FF-A responses use x0-x7
    return SMC64_ALWAYS_RESULTS


def _mbz_from(fid: int, rets: list[int]) -> int | None:
    """The first reserved (MBZ) result register of an FF-A response, or None."""
    called, answer = func_of(w(fid)), w(rets[0])
    if called is None:
        return None
    if called is Func.VERSION:
        return None if answer == NOT_SUPPORTED_W else 1
    if answer == FfaId.FFA_ERROR:
        return ERROR_DEFINES
    if answer in (FfaId.FFA_SUCCESS, FfaId.FFA_SUCCESS_64):
        return SUCCESS_DEFINES.get(called)
    return None


def check(args: list[int], rets: list[int], layer: str = "", deviations: dict | None = None) -> list[Violation]:
    """The rule violations of one answer: `args`/`rets` are x0-x17 before/after the call."""
    fid, out = args[0], []
    name = call_name(fid)
    smc64 = is_smc64(w(fid))

    def bad(rule: Rule, reg: int, expected: str, got: int) -> None:
        out.append(Violation(rule, reg, name, layer, expected, got, (deviations or {}).get(rule.value, "")))

    if not smc64:
        for n in range(SMC32_RESULTS, SMCCC_REGS):
            if rets[n] != args[n]:
                bad(Rule.SMC32_PRESERVES, n, f"the caller's {args[n]:#x}", rets[n])
    else:
        for n in range(max(SMC64_ALWAYS_RESULTS, _result_count(fid, rets)), SMCCC_REGS):
            if rets[n] not in (args[n], 0):
                bad(Rule.SMC64_UNUSED_PRESERVED, n, f"the caller's {args[n]:#x} (or 0)", rets[n])
    first = _mbz_from(fid, rets)
    if first is not None:
        view = result_view(fid, rets)
        for n in range(first, SMC32_RESULTS):
            if view(rets[n]):
                bad(Rule.FFA_RESERVED_MBZ, n, "0", rets[n])
    return out


def check_relay(answer: list[int], callee: list[int], layer: str = "",
                deviations: dict | None = None) -> list[Violation]:
    """A proxy's answer to a direct request vs the response it got from below (x0-x17)."""
    func = func_of(w(callee[0]))
    if func not in PAYLOAD or func_of(w(answer[0])) is not func:
        return []
    view = w if func is Func.MSG_SEND_DIRECT_RESP and not is_smc64(w(callee[0])) else (lambda v: v)
    return [Violation(Rule.PROXY_RELAYS_PAYLOAD, n, f"FFA_{func.name}", layer,
                      f"the partition's {callee[n]:#x}", answer[n],
                      (deviations or {}).get(Rule.PROXY_RELAYS_PAYLOAD.value, ""))
            for n in PAYLOAD[func] if view(answer[n]) != view(callee[n])]


def _payload_view(fid: int):
    """W views for the 32-bit direct messages, X views otherwise (DEN0028C §2.6-§2.7)."""
    return (lambda v: v & MASK64) if is_smc64(w(fid)) else w


def check_deliveries(deliveries, layer: str = "") -> list[Violation]:
    """Each direct request a firmware handed to a partition (`echo_sp.Delivery`): the
    request's payload as the partition received it vs as the caller sent it, and the
    response's payload as the caller got it vs as the partition sent it."""
    out: list[Violation] = []
    for d in deliveries:
        if d.sent is None:
            continue
        where = f"{layer} -> SP {d.sp:#06x}"
        func, view = func_of(w(d.sent[0])), _payload_view(d.sent[0])
        out += [Violation(Rule.PARTITION_GETS_PAYLOAD, n, call_name(d.sent[0]), where,
                          f"the sender's {d.sent[n]:#x}", d.received[n])
                for n in REQUEST_PAYLOAD.get(func, ()) if view(d.received[n]) != view(d.sent[n])]
        resp = func_of(w(d.response[0]))
        if d.answer is None or func_of(w(d.answer[0])) is not resp:
            continue
        view = _payload_view(d.response[0])
        out += [Violation(Rule.PARTITION_GETS_PAYLOAD, n, call_name(d.response[0]), where,
                          f"the partition's {d.response[n]:#x}", d.answer[n])
                for n in PAYLOAD.get(resp, ()) if view(d.answer[n]) != view(d.response[n])]
    return out


def check_delivery(call: str, answer: list[int], got: list[int], layer: str = "harness") -> list[Violation]:
    """The harness's own stubs and trampolines: after the ERET the caller's x0-x17 must be
    exactly what the answering model wrote (`trap.ret`: unnamed registers keep the
    caller's values)."""
    return [Violation(Rule.HARNESS_DELIVERS, n, call, layer, f"the answer's {v:#x}", got[n])
            for n, v in enumerate(answer[:SMCCC_REGS]) if got[n] != v]


def check_records(records, deviations: dict[str, dict] | None = None) -> list[Violation]:
    """Every answer in a run's call records (`CallRecord`s with x0-x17), per layer, and
    each proxy's relay of the direct responses it forwarded."""
    deviations = deviations or {}
    out: list[Violation] = []
    for i, rec in enumerate(records):
        if rec.ret_full is None or rec.args_full is None:
            continue
        layer = f"EL{rec.to_el} {rec.handler}"
        dev = deviations.get(rec.handler)
        children = [c for c in _children(records, i) if c.ret_full is not None]
        out += [_inherited(v, children, deviations) for v in check(rec.args_full, rec.ret_full, layer, dev)]
        for child in children:
            if child.ret_full is not None and w(child.args_full[0]) == w(rec.args_full[0]):
                out += check_relay(rec.ret_full, child.ret_full, layer, dev)
    return out


def _inherited(v: Violation, children, deviations: dict) -> Violation:
    """A proxy relaying a value its callee answered under a declared deviation inherits
    the declaration (e.g. pKVM handing back the EL3 SPMC's SMC_RET1 x1)."""
    if v.declared:
        return v
    for child in children:
        reason = deviations.get(child.handler, {}).get(v.rule.value)
        if reason and child.ret_full[v.reg] == v.got:
            return replace(v, declared=f"relayed from {child.handler}: {reason}")
    return v


def _children(records, i: int):
    depth = records[i].depth
    for rec in records[i + 1:]:
        if rec.depth <= depth:
            return
        if rec.depth == depth + 1:
            yield rec


__all__ = ["Rule", "Violation", "check", "check_relay", "check_delivery", "check_records",
           "check_deliveries", "SMCCC_REGS"]
