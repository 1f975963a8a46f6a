"""`ffaemu debug`: an interactive, scriptable stepper for SMC/HVC traps.

Commands: break smc|hvc|svc|eret|exception|ADDR|SYMBOL, delete [N], info break,
step [N], next, continue, finish, regs, sysregs, disas [ADDR] [N], where, ffa,
x/N[w] ADDR, help, quit. Commands come from `--commands FILE`, or from standard input
(line editing and history when it is a terminal).
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Callable, Iterable

from .arch.bits import upper_kind, w
from .arch.exceptions import A64, ERET, INSN_BYTES, Routing, describe_esr
from .arch.sysregs import HCR, HCR_EL2, SCR, SCR_EL3, describe_pstate, mode_name
from .ffa.decode import describe_call, describe_result
from .machine import Machine, RunResult

INSN_BREAKS = {"smc": A64.SMC, "hvc": A64.HVC, "svc": A64.SVC}
BL_MASK, BL = 0xFC00_0000, 0x9400_0000          # BL imm26 (C6.2.34)
BLR_MASK, BLR = 0xFFFF_FC1F, 0xD63F_0000        # BLR Xn (C6.2.35)
MAX_DUMP = 4096                 # x/N and disas N: at most this many items, checked before reading
MAX_STEPS = 1 << 40             # step N (each step is also bounded by the run's budget)
ADDRESS_LIMIT = 1 << 64


@dataclass
class Breakpoint:
    number: int
    kind: str                 # "smc", "hvc", "svc", "eret", "exception" or "addr"
    addr: int | None = None
    label: str = ""

    def describe(self) -> str:
        return f"{self.number}: {self.kind if self.addr is None else self.label}"


class Debugger:
    """Drives a Machine through `enable_debug`, pausing where the user asked."""

    def __init__(self, machine: Machine, out: Callable[[str], None], start_at: int | None = None):
        self.m = machine
        self.out = out
        self.breaks: list[Breakpoint] = []
        self._next_number = 1
        self._mode = "stop-at" if start_at is not None else "step"
        self._target = start_at            # address to reach (start, or `next`)
        self._steps = 0 if start_at is not None else 1
        self._finish_el: int | None = None
        self._why = ""
        self._pending_calls = 0            # call records at the last pause, to report decisions
        self.result: RunResult | None = None
        machine.enable_debug(self)

    # Machine callbacks --------------------------------------------------------------------
    def on_insn(self, addr: int) -> bool:
        cpu = self.m.cpu
        if self._mode == "stop-at":
            if addr == self._target:
                return self._stop("start")
            return False
        if self._mode == "step":
            self._steps -= 1
            if self._steps <= 0:
                return self._stop("step")
        if self._mode == "next" and addr == self._target:
            return self._stop("next")
        if self._mode == "finish" and cpu.el < self._finish_el:
            return self._stop(f"returned below EL{self._finish_el}")
        for bp in self.breaks:
            if bp.addr == addr:
                return self._stop(f"breakpoint {bp.number} at {self._label(addr)}")
        kinds = {bp.kind for bp in self.breaks if bp.addr is None}
        if kinds & {"smc", "hvc", "svc", "eret"}:
            word = int.from_bytes(self.m.uc.mem_read(addr, 4), "little")
            for kind in kinds:
                if (kind in INSN_BREAKS and INSN_BREAKS[kind].matches(word)) or (kind == "eret" and word == ERET):
                    bp = next(b for b in self.breaks if b.kind == kind)
                    return self._stop(f"breakpoint {bp.number} ({kind}) at {self._label(addr)}")
        return False

    def on_exception(self, r: Routing, spsr: int, how: str) -> None:
        imm = f" #{r.iss if r.iss < 10 else hex(r.iss)}" if r.ec.name in ("SVC64", "HVC64", "SMC64", "BRK64") else ""
        name = r.ec.name[:3] if r.ec.name.endswith("64") else r.ec.name
        self.out(f"{name}{imm} at EL{r.from_el} -> EL{r.to_el} ({r.reason}) "
                 f"ESR_EL{r.to_el}={r.esr:#010x} ELR_EL{r.to_el}={r.elr:#x} "
                 f"SPSR_EL{r.to_el}={spsr:#x} ({mode_name(spsr)})"
                 f"{' -> Python model' if how == 'python' else ''}")
        if any(bp.kind == "exception" for bp in self.breaks) and self._mode != "stop-at":
            self._why = f"exception taken to EL{r.to_el}"
            self.m.pause()

    def _stop(self, why: str) -> bool:
        self._why = why
        return True

    # Running ------------------------------------------------------------------------------
    def begin(self) -> None:
        """Run to the first instruction of the user's image (or stop before the first one)."""
        self._go()

    def _go(self) -> None:
        if self.result is not None:
            self.out("the run has ended")
            return
        self._why = ""
        result = self.m.resume()
        self._report_models()
        if result is not None:
            self.result = result
            code = "" if result.code is None else f" (code {result.code})"
            self.out(f"run ended: {result.reason.value}{code}: {result.message}")
            return
        self.out(f"stopped ({self._why}): {self._location()}")

    def _report_models(self) -> None:
        records = self.m.calls.records[self._pending_calls:]
        self._pending_calls = len(self.m.calls.records)
        for rec in records:
            result = describe_result(rec.fid, rec.ret) if rec.ret is not None else "(did not return)"
            self.out(f"  model {rec.handler} at EL{rec.to_el}: {describe_call(rec.args)} -> {result}")

    def _location(self, addr: int | None = None) -> str:
        cpu = self.m.cpu
        pc = cpu.pc if addr is None else addr
        return f"EL{cpu.el} {self._label(pc)}: {self.m.insn_text(pc)}"

    def _label(self, addr: int) -> str:
        sym = self.m.symbolize(addr)
        return f"{addr:#x}{f' <{sym}>' if sym else ''}"

    # Commands ---------------------------------------------------------------------------------
    def execute(self, line: str) -> bool:
        """Run one command; False when the session should end."""
        try:
            words = shlex.split(line)
        except ValueError as e:
            self.out(f"error: {e}")
            return True
        if not words:
            return True
        cmd, args = words[0], words[1:]
        if cmd.startswith("x/"):
            args, cmd = [cmd[2:]] + args, "x"
        handler = getattr(self, f"cmd_{ALIASES.get(cmd, cmd)}", None)
        if handler is None:
            self.out(f"unknown command '{cmd}' (try: help)")
            return True
        if cmd in RUN_COMMANDS and self.result is not None:
            self.out(f"the run has ended ({self.result.reason.value}); nothing to {cmd}")
            return True
        try:
            return handler(args) is not False
        except (ValueError, IndexError, OverflowError) as e:
            self.out(f"error: {e}")
            return True

    def run_commands(self, lines: Iterable[str]) -> None:
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            self.out(f"(ffaemu) {line}")
            if not self.execute(line):
                return

    def cmd_help(self, args) -> None:
        self.out(__doc__.strip())

    def cmd_quit(self, args) -> bool:
        return False

    def cmd_break(self, args) -> None:
        if not args:
            raise ValueError("break needs smc|hvc|svc|eret|exception|ADDR|SYMBOL")
        what = args[0]
        if what in ("smc", "hvc", "svc", "eret", "exception"):
            bp = Breakpoint(self._next_number, what)
        else:
            addr = self._address(what)
            bp = Breakpoint(self._next_number, "addr", addr, self._label(addr))
        self._next_number += 1
        self.breaks.append(bp)
        self.out(f"breakpoint {bp.describe()}")

    def cmd_delete(self, args) -> None:
        if not args:
            self.breaks.clear()
            self.out("deleted all breakpoints")
            return
        n = int(args[0])
        self.breaks = [b for b in self.breaks if b.number != n]
        self.out(f"deleted breakpoint {n}")

    def cmd_info(self, args) -> None:
        if args[:1] != ["break"]:
            raise ValueError("usage: info break")
        self.out("\n".join(b.describe() for b in self.breaks) or "no breakpoints")

    def cmd_step(self, args) -> None:
        self._mode, self._steps = "step", _bounded(args[0], 1, MAX_STEPS, "step count") if args else 1
        self._go()

    def cmd_next(self, args) -> None:
        pc = self.m.cpu.pc
        word = int.from_bytes(self.m.memory.read(pc, 4) or bytes(4), "little")
        if word & BL_MASK == BL or word & BLR_MASK == BLR:
            self._mode, self._target = "next", pc + INSN_BYTES
        else:
            self._mode, self._steps = "step", 1
        self._go()

    def cmd_continue(self, args) -> None:
        self._mode = "continue"
        self._go()

    def cmd_finish(self, args) -> None:
        self._mode, self._finish_el = "finish", self.m.cpu.el
        self._go()

    def cmd_regs(self, args) -> None:
        cpu = self.m.cpu
        for n, v in enumerate(cpu.xs()):
            self.out(f"x{n:<2} {v:#018x}   w{n:<2} {w(v):#010x}   [63:32] {_upper(v)}")
        self.out(f"sp  {cpu.sp:#018x}   pc  {cpu.pc:#018x}")
        self.out(f"pstate {cpu.pstate:#x} ({describe_pstate(cpu.pstate)})")

    def cmd_sysregs(self, args) -> None:
        cpu = self.m.cpu
        self.out(f"CurrentEL = EL{cpu.el} ({mode_name(cpu.pstate)})")
        scr, hcr = cpu.sysreg(SCR_EL3), cpu.sysreg(HCR_EL2)
        self.out(f"SCR_EL3 = {scr:#x} [{_flags(scr, SCR, ('NS', 'HCE', 'SMD', 'RW', 'TWI', 'TWE'))}]")
        self.out(f"HCR_EL2 = {hcr:#x} [{_flags(hcr, HCR, ('RW', 'TSC', 'TGE', 'HCD', 'VM', 'E2H'))}]")
        for el in (3, 2, 1):
            esr, spsr = cpu.esr(el), cpu.spsr(el)
            self.out(f"ESR_EL{el}  = {esr:#010x} ({describe_esr(esr)})")
            self.out(f"ELR_EL{el}  = {self._label(cpu.elr(el))}")
            self.out(f"SPSR_EL{el} = {spsr:#x} ({describe_pstate(spsr)})")
            self.out(f"VBAR_EL{el} = {cpu.vbar(el):#x}")

    def cmd_disas(self, args) -> None:
        addr = self._address(args[0]) if args else self.m.cpu.pc
        count = _bounded(args[1], 1, MAX_DUMP, "disas count") if len(args) > 1 else 8
        for i in range(count):
            a = addr + INSN_BYTES * i
            mark = "=>" if a == self.m.cpu.pc else "  "
            self.out(f"{mark} {self._label(a)}: {self.m.insn_text(a)}")

    def cmd_where(self, args) -> None:
        pc = self.m.cpu.pc
        line = next((img.source_line(pc) for img in self.m.images if img.source_line(pc)), None)
        self.out(f"EL{self.m.cpu.el} {self._label(pc)}{f' at {line}' if line else ''}: {self.m.insn_text(pc)}")

    def cmd_ffa(self, args) -> None:
        records = self.m.calls.records
        if not records:
            self.out("no SMCCC/FF-A call has reached a Python model yet")
            return
        start = len(records) - 1                 # the last top-level call, with its nested hops
        while start > 0 and records[start].from_el > records[start - 1].from_el:
            start -= 1
        for rec in records[start:]:
            pad = "  " * (rec.from_el - records[start].from_el)
            result = describe_result(rec.fid, rec.ret) if rec.ret is not None else "(pending)"
            self.out(f"{pad}EL{rec.from_el} -> EL{rec.to_el} {rec.handler}: "
                     f"{describe_call(rec.args)} -> {result}")

    def cmd_x(self, args) -> None:
        if len(args) != 2:
            raise ValueError("usage: x/N[w] ADDR")
        spec, where = args[0], args[1]
        size = 4 if spec.endswith("w") else 8
        count = _bounded(spec.rstrip("wg") or "1", 1, MAX_DUMP, "x count")
        addr = self._address(where)
        data = self.m.memory.read(addr, count * size)
        if data is None:
            self.out(f"cannot read {count * size} bytes at {addr:#x}: unmapped")
            return
        for i in range(count):
            v = int.from_bytes(data[i * size:(i + 1) * size], "little")
            self.out(f"{self._label(addr + i * size)}: {v:#0{2 + 2 * size}x}")

    def _address(self, text: str) -> int:
        for img in self.m.images:
            if text in img.symbols:
                return img.symbols[text]
        if "+" in text:
            base, off = text.split("+", 1)
            addr = self._address(base) + int(off, 0)
        else:
            try:
                addr = int(text, 0)
            except ValueError:
                raise ValueError(f"'{text}' is neither an address nor a known symbol") from None
        if not 0 <= addr < ADDRESS_LIMIT:
            raise ValueError(f"address {text} is outside 0..2^64-1")
        return addr


RUN_COMMANDS = {"step", "next", "continue", "finish", "si", "s", "n", "c"}


def _bounded(text: str, low: int, high: int, what: str) -> int:
    """A count typed by the user, range-checked before anything is allocated or run."""
    value = int(text, 0)
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}, not {text}")
    return value


ALIASES = {"b": "break", "s": "step", "si": "step", "n": "next", "c": "continue",
           "q": "quit", "exit": "quit", "i": "info"}


def _upper(value: int) -> str:
    return {"zero": "zero", "sign": "sign-extension of w"}.get(upper_kind(value), "OTHER")


def _flags(value: int, flags, names) -> str:
    return " ".join(f"{n}={int(bool(value & getattr(flags, n)))}" for n in names)

