"""The call trace: one line per hop of an SMC/HVC through the models, nested by depth.

    EL1 -> EL2 pkvm      FFA_VERSION(1.2)  [smc #0 at 0x40100010 <ffa_probe+0x10>]
      EL2 -> EL3 tfa-spmd  FFA_VERSION(1.2)
      EL2 <- EL3           1.3 (w0=0x10003)
    EL1 <- EL2           1.2 (w0=0x10002)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

from .ffa.decode import describe_call, describe_result, fid_name

ARG_COUNT = 8              # x0-x7: what traces and `--json` show
FULL_COUNT = 18            # x0-x17: what the SMCCC v1.2 register checks read (smccc_rules.py)
MAX_CALL_RECORDS = 100_000
MASK64 = 0xFFFF_FFFF_FFFF_FFFF


@dataclass(slots=True)
class CallRecord:
    from_el: int
    to_el: int
    handler: str
    args: list[int]
    ret: list[int] | None = None
    vcpu: str | None = None               # which VM and vCPU made it, under a multi-vCPU hypervisor
    depth: int = 0                       # 0 for the guest's own call; +1 per nested forward
    args_full: list[int] | None = None   # x0-x17 in
    ret_full: list[int] | None = None    # x0-x17 out

    @property
    def fid(self) -> int:
        return self.args[0] & 0xFFFF_FFFF

    def as_json(self) -> dict:
        out = {"from_el": self.from_el, "to_el": self.to_el, "handler": self.handler,
               "fid": hex(self.fid), "name": fid_name(self.fid),
               "args": [hex(v) for v in self.args],
               "ret": None if self.ret is None else [hex(v) for v in self.ret]}
        if self.vcpu is not None:
            out["vcpu"] = self.vcpu
        return out


# A call as CallTracer keeps it until `records` is read: a list, so that `leave` can fill
# in the result (and the CallRecord, once made from it, can follow).
_FROM, _TO, _HANDLER, _ARGS, _RET, _VCPU, _DEPTH, _REC = range(8)


def _full(args, ret) -> list[int]:
    """x0-x17 of a kept result. The lean trap path keeps `trap.ret(a, b, ...)`'s values
    as given: fewer than x0-x17, over the caller's registers, 64-bit."""
    if len(ret) >= FULL_COUNT:
        return list(ret)
    out = list(args[:FULL_COUNT])
    for n, v in enumerate(ret):
        out[n] = v & MASK64
    return out


def _record(entry: list) -> CallRecord:
    """The CallRecord of a kept call (made once, then kept with it)."""
    rec = entry[_REC]
    if rec is None:
        args, ret = entry[_ARGS], entry[_RET]
        args = list(args)                    # kept as a list or a tuple (the lean trap path)
        ret = None if ret is None else _full(args, ret)
        rec = entry[_REC] = CallRecord(entry[_FROM], entry[_TO], entry[_HANDLER], args[:ARG_COUNT],
                                       None if ret is None else ret[:ARG_COUNT], entry[_VCPU],
                                       entry[_DEPTH], args, ret)
    return rec


class CallTracer:
    """Records every call a Python model answers; prints it when given a sink.

    Calls are kept as plain lists while the machine runs (one per call, with the
    caller's x0-x17 and the result's as given) and become CallRecords when `records`
    is first read: a run that nobody inspects never builds them."""

    def __init__(self, sink: Callable[[str], None] | None = None,
                 events: Callable[[dict], None] | None = None):
        self._log: list[list] = []             # every call kept, in order
        self._records: list[CallRecord] = []   # CallRecords of the first len() of them
        self.dropped = 0                  # calls beyond MAX_CALL_RECORDS, only counted
        self._open: list[list] = []
        self._sink = sink
        self.events = events              # JSON-lines sink (`--trace-file`)
        self.context: Callable[[], str | None] | None = None   # the calling vCPU (Xen)

    @property
    def records(self) -> list[CallRecord]:
        """Every call kept (the first MAX_CALL_RECORDS), in order, as CallRecords."""
        recs, log = self._records, self._log
        if len(recs) < len(log):
            recs.extend(_record(entry) for entry in log[len(recs):])
        return recs

    def view(self) -> "CallsView":
        """`records` as a sequence that makes them only when read (RunResult.calls)."""
        return CallsView(self)

    def enter(self, from_el: int, to_el: int, handler: str, xs: list[int], where: str = "",
              owned: bool = False) -> None:
        """`owned`: `xs` is a list of x0-x17 nobody changes later, kept without a copy."""
        vcpu = self.context() if self.context else None
        entry = [from_el, to_el, handler, xs if owned else xs[:FULL_COUNT], None, vcpu,
                 len(self._open), None]
        if len(self._log) < MAX_CALL_RECORDS:
            self._log.append(entry)
        else:
            self.dropped += 1
        if self._sink:
            pad = "  " * len(self._open) + (f"{vcpu}: " if vcpu else "")
            head = f"EL{from_el} -> EL{to_el} {handler}"
            self._sink(f"{pad}{head:<24} {describe_call(xs[:ARG_COUNT])}{f'  [{where}]' if where else ''}")
        self._open.append(entry)

    def forget(self) -> None:
        """Drop the innermost open call: its handler declined it (it will be vectored)."""
        if self._open:
            entry = self._open.pop()
            log = self._log
            for i in range(len(log) - 1, -1, -1):
                if log[i] is entry:
                    del log[i]
                    if i < len(self._records):
                        del self._records[i]
                    break

    def leave(self, xs: list[int], owned: bool = False) -> None:
        """`owned` as for `enter`."""
        if not self._open:
            return
        entry = self._open.pop()
        ret = entry[_RET] = xs if owned else xs[:FULL_COUNT]
        rec = entry[_REC]
        if rec is not None:                    # already read as a CallRecord: complete it
            rec.ret_full = _full(entry[_ARGS], ret)
            rec.ret = rec.ret_full[:ARG_COUNT]
        if self.events:
            self.events({"type": "call", **_record(entry).as_json()})
        if self._sink:
            pad = "  " * len(self._open) + (f"{entry[_VCPU]}: " if entry[_VCPU] else "")
            head = f"EL{entry[_FROM]} <- EL{entry[_TO]}"
            self._sink(f"{pad}{head:<24} {describe_result(entry[_ARGS][0] & 0xFFFF_FFFF, ret[:ARG_COUNT])}")

    def finish(self) -> None:
        """At the end of a run: calls that never returned (PSCI SYSTEM_OFF, a stop inside a
        model) go to the JSON-lines sink with `ret` null, outermost first."""
        if self.events:
            for entry in self._open:
                self.events({"type": "call", **_record(entry).as_json()})
        self._open = []


class CallsView(Sequence):
    """RunResult.calls: the tracer's `records`, live, made into CallRecords when first read."""

    def __init__(self, tracer: CallTracer):
        self._tracer = tracer

    def __len__(self) -> int:
        return len(self._tracer.records)

    def __getitem__(self, i):
        return self._tracer.records[i]

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def __repr__(self) -> str:
        return repr(self._tracer.records)


REG_NAMES = [f"x{i}" for i in range(31)] + ["sp", "pstate"]


class InsnTracer:
    """`--trace insn`: one line per executed instruction with the registers it wrote.

    Opt-in and slow (a Python hook on every instruction). The registers an instruction
    wrote are found by comparing snapshots before it and before the next one, so an SMC
    answered by a Python model shows the model's results as the SMC's writes.
    """

    def __init__(self, machine, text: Callable[[str], None] | None = None,
                 events: Callable[[dict], None] | None = None):
        from unicorn import UC_HOOK_CODE
        self.m = machine
        self._text = text
        self._events = events
        self._prev = None
        self._snap: list[int] | None = None
        self._where: dict[int, tuple[str | None, str, str | None]] = {}   # addr -> (symbol, disassembly, file:line)
        machine.uc.hook_add(UC_HOOK_CODE, self._hook)

    def _regs(self) -> list[int]:
        cpu = self.m.cpu
        return cpu.xs() + [cpu.sp, cpu.pstate]

    def _hook(self, uc, addr, size, _):
        regs = self._regs()
        self._flush(regs)
        where = self._where.get(addr)
        if where is None:           # code is not rewritten at run time here: cache per address
            where = self._where[addr] = (self.m.symbolize(addr), self.m.insn_text(addr),
                                         self.m.source_line(addr, short=True))
        self._prev = (regs[-1] >> 2 & 3, addr, *where)
        self._snap = regs

    def _flush(self, regs: list[int]) -> None:
        if self._prev is None:
            return
        el, addr, sym, insn, line = self._prev
        writes = {REG_NAMES[i]: v for i, (old, v) in enumerate(zip(self._snap, regs)) if old != v}
        if self._text:
            where = f"{addr:#x}{f' <{sym}>' if sym else ''}{f' {line}' if line else ''}"
            written = " ".join(f"{k}={v:#x}" for k, v in writes.items())
            self._text(f"EL{el} {where:<32} {insn:<28} {written}".rstrip())
        if self._events:
            self._events({"type": "insn", "el": el, "pc": hex(addr), "symbol": sym, "insn": insn,
                          "writes": {k: hex(v) for k, v in writes.items()}, "line": line})
        self._prev = None

    def finish(self) -> None:
        """Report the last instruction (the run ended before another one started)."""
        self._flush(self._regs())
