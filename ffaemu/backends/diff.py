"""`ffaemu diff`: the same guest on a firmware model and on its real-firmware image.

The first differing console line is shown side by side with context, and the FF-A call
that produced it: the last call the model answered before that console position (call
records are matched to console positions through the run's call events).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..ffa.decode import describe_call, describe_result
from ..runner import build_guest
from .qemu import run_on_firmware

CONTEXT = 2            # lines shown before and after the first difference
COLUMN = 48            # width of each side


@dataclass
class DiffReport:
    identical: bool
    text: str


@dataclass
class _Call:
    console_pos: int     # console length when the call returned
    from_el: int
    to_el: int
    handler: str
    args: list[int]
    ret: list[int]


def run_model(guest, el3: str, el2: str | None, fw_upper: str,
              seed: int = 0) -> tuple[object, list[_Call]]:
    """The model's run and its calls, each with the console position at its return."""
    size = [0]
    calls: list[_Call] = []

    def on_console(text: str) -> None:
        size[0] += len(text)

    def on_event(ev: dict) -> None:
        if ev.get("type") == "call" and ev.get("ret") is not None:
            calls.append(_Call(size[0], ev["from_el"], ev["to_el"], ev["handler"],
                               [int(v, 16) for v in ev["args"]], [int(v, 16) for v in ev["ret"]]))

    setup = build_guest(guest, el3, el2 or "none", fw_upper=fw_upper, seed=seed,
                        console=on_console, events=on_event)
    return setup.run().result, calls


def first_difference(a: str, b: str) -> tuple[int, int] | None:
    """(line index, char offset in `a`) of the first difference; None when equal."""
    if a == b:
        return None
    la, lb = a.splitlines(keepends=True), b.splitlines(keepends=True)
    pos = 0
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else ""
        y = lb[i] if i < len(lb) else ""
        if x != y:
            common = next((k for k, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
            return i, pos + common
        pos += len(x)
    return len(la), len(a)


def _cell(line: str | None) -> str:
    if line is None:
        return "(end)".ljust(COLUMN)
    text = line.rstrip("\n").replace("\r", "\\r")
    return (text if len(text) <= COLUMN else text[:COLUMN - 3] + "...").ljust(COLUMN)


def side_by_side(model: str, real: str, line: int, left: str, right: str) -> list[str]:
    la, lb = model.splitlines(keepends=True), real.splitlines(keepends=True)
    out = [f"      {left[:COLUMN].ljust(COLUMN)} | {right[:COLUMN]}"]
    for i in range(max(0, line - CONTEXT), line + CONTEXT + 1):
        if i >= len(la) and i >= len(lb):
            break
        a = la[i] if i < len(la) else None
        b = lb[i] if i < len(lb) else None
        mark = ">" if a != b else " "
        out.append(f"{mark}{i + 1:4} {_cell(a)} | {_cell(b).rstrip()}")
    a = la[line].rstrip("\n") if line < len(la) else "(end of console)"
    b = lb[line].rstrip("\n") if line < len(lb) else "(end of console)"
    col = next((k for k, (p, q) in enumerate(zip(a, b)) if p != q), min(len(a), len(b)))
    out += [f"line {line + 1}, column {col + 1}:", f"  model: {a}", f"  real:  {b}",
            f"         {' ' * col}^"]
    return out


def call_at(calls: list[_Call], pos: int) -> _Call | None:
    """The last call that returned at or before console position `pos`."""
    before = [c for c in calls if c.console_pos <= pos]
    return before[-1] if before else None


def diff_guest(guest, el3: str, firmware: Path, *, el2: str | None = None,
               fw_upper: str = "real", seed: int = 0, timeout: float = 30.0) -> DiffReport:
    model, calls = run_model(guest, el3, el2, fw_upper, seed)
    real = run_on_firmware(guest, firmware, el2=el2, timeout=timeout)
    left, right = f"model --el3 {el3}", f"real {firmware.name}"
    found = first_difference(model.console, real.console)
    ends = (f"model ended: {model.reason.value}{'' if model.code is None else f' ({model.code})'}"
            f"{f' ({model.message})' if model.reason.value == 'fault' else ''}; "
            f"real ended: {real.reason}{'' if real.exit_code is None else f' ({real.exit_code})'}")
    if found is None:
        lines = model.console.count("\n")
        differently = "" if (model.reason.value, model.code) == (real.reason, real.exit_code) \
            else "\nnote: the consoles agree but the runs ended differently"
        return DiffReport(True, f"identical: {lines} console lines, {len(calls)} call(s) answered "
                                f"by the model ({left} vs {right})\n{ends}{differently}")
    line, pos = found
    out = [f"consoles differ at line {line + 1} ({left} vs {right})"]
    out += side_by_side(model.console, real.console, line, left, right)
    call = call_at(calls, pos)
    if call is None:
        out.append("no FF-A/SMCCC call answered by the model precedes it")
    else:
        out.append(f"the last call before it (EL{call.from_el} -> EL{call.to_el} {call.handler}): "
                   f"{describe_call(call.args)}")
        out.append(f"  model answered: {describe_result(call.args[0], call.ret)}")
        out.append("  x0-x7: " + " ".join(f"{v:#x}" for v in call.ret))
    out.append(ends)
    return DiffReport(False, "\n".join(out))
