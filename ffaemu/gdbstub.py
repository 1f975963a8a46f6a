"""A GDB remote serial protocol stub for a Machine, on 127.0.0.1 only.

udbserver (PyPI) was evaluated and does not fit: it listens on all interfaces, reports
CPSR as 0 and exposes no system registers. This stub offers a target description with
x0-x30, sp, pc, cpsr (the real PSTATE, so gdb shows the right EL) and the EL1-EL3
exception registers, HCR_EL2 and SCR_EL3; g/G/p/P, m/M, s/c/vCont, Z0/z0 and Z1/z1,
`?`, detach, kill and Ctrl-C (checked on the socket every few thousand instructions).
"""
from __future__ import annotations

import socket
from typing import Callable

from unicorn import arm64_const as uca

from .arch.sysregs import ELR, ESR, HCR_EL2, SCR_EL3, SP_EL, VBAR, spsr_reg
from .machine import Machine, RunResult

SIGINT, SIGTRAP, SIGSEGV = 2, 5, 11
POLL_EVERY = 4096                      # instructions between Ctrl-C checks
CORE = [f"x{i}" for i in range(31)] + ["sp", "pc"]
SYSREGS = ([f"{n}_el{e}" for e in (1, 2, 3) for n in ("esr", "elr", "spsr", "vbar")]
           + ["sp_el0", "sp_el1", "sp_el2", "hcr_el2", "scr_el3"])


def target_xml() -> str:
    core = "".join(f'<reg name="{r}" bitsize="64" type="{"data_ptr" if r == "sp" else "code_ptr" if r == "pc" else "uint64"}"/>'
                   for r in CORE)
    sysregs = "".join(f'<reg name="{r}" bitsize="64" type="uint64" group="system"/>' for r in SYSREGS)
    return ('<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target>'
            '<architecture>aarch64</architecture>'
            f'<feature name="org.gnu.gdb.aarch64.core">{core}<reg name="cpsr" bitsize="32" type="uint32"/></feature>'
            f'<feature name="org.ffaemu.sysregs">{sysregs}</feature></target>')


class GdbStub:
    """Serves one gdb connection for `machine`, which must be started and paused."""

    def __init__(self, machine: Machine, port: int = 1234, start_at: int | None = None,
                 announce: Callable[[str], None] | None = None):
        self.m = machine
        self._stop_at = start_at         # the user's first instruction: where gdb finds the CPU
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))          # loopback only, never all interfaces
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.conn: socket.socket | None = None
        self.breaks: set[int] = set()
        self.ack = True
        self._stepping = False
        self._count = 0
        self._interrupted = False
        self.result: RunResult | None = None
        self._announce = announce
        machine.enable_debug(self)

    # Machine callbacks ---------------------------------------------------------------------
    def on_insn(self, addr: int) -> bool:
        if self._stop_at is not None:
            if addr != self._stop_at:
                return False
            self._stop_at = None
            return True
        if self._stepping:
            self._stepping = False
            return True
        if addr in self.breaks:
            return True
        self._count += 1
        if self._count % POLL_EVERY == 0 and self._ctrl_c():
            self._interrupted = True
            return True
        return False

    def on_exception(self, routing, spsr, how) -> None:
        pass

    def _ctrl_c(self) -> bool:
        try:
            data = self.conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return False
        if data == b"\x03":
            self.conn.recv(1)
            return True
        return False

    # Serving -----------------------------------------------------------------------------
    def serve(self) -> RunResult | None:
        """Run to the first user instruction, then serve gdb until it detaches or kills."""
        if self._stop_at is not None:
            self.result = self.m.resume()
        if self._announce:
            self._announce(f"waiting for gdb on 127.0.0.1:{self.port}")
        self.conn, _ = self.sock.accept()
        try:
            while True:
                packet = self._read_packet()
                if packet is None:
                    break
                reply = self._handle(packet)
                if reply is _CLOSE:
                    break
                if reply is not _NOTHING:
                    self._send(reply)
        finally:
            self.conn.close()
            self.sock.close()
        return self.result

    def _read_packet(self) -> str | None:
        buf = b""
        while True:
            ch = self.conn.recv(1)
            if not ch:
                return None
            if ch == b"\x03":                  # interrupt while stopped: report a stop
                return "?"
            if ch == b"$":
                break
        while True:
            ch = self.conn.recv(1)
            if not ch:
                return None
            if ch == b"#":
                self.conn.recv(2)
                break
            buf += ch
        if self.ack:
            self.conn.sendall(b"+")
        return buf.decode("latin-1")

    def _send(self, data: str) -> None:
        body = data.encode("latin-1")
        checksum = sum(body) & 0xFF
        self.conn.sendall(b"$" + body + b"#" + f"{checksum:02x}".encode())
        if self.ack:
            self.conn.recv(1)

    # Packets ------------------------------------------------------------------------------
    def _handle(self, p: str):
        if p == "?":
            return self._stop_reply(SIGTRAP)
        if p.startswith("qSupported"):
            return "PacketSize=4000;qXfer:features:read+;vContSupported+;QStartNoAckMode+;swbreak+;hwbreak+"
        if p == "QStartNoAckMode":
            self._send("OK")
            self.ack = False
            return _NOTHING
        if p.startswith("qXfer:features:read:target.xml:"):
            off, length = (int(v, 16) for v in p.rsplit(":", 1)[1].split(","))
            xml = target_xml()
            chunk = xml[off:off + length]
            return ("l" if off + length >= len(xml) else "m") + _escape(chunk)
        if p in ("qAttached",):
            return "1"
        if p == "qC":
            return "QC1"
        if p == "qfThreadInfo":
            return "m1"
        if p == "qsThreadInfo":
            return "l"
        if p.startswith("H") or p.startswith("T"):
            return "OK"
        if p == "g":
            return "".join(_le(v, 8) for v in self._core()) + _le(self.m.cpu.pstate, 4) + \
                "".join(_le(self._sysreg(r), 8) for r in SYSREGS)
        if p.startswith("G"):
            return self._write_all(p[1:])
        if p.startswith("p"):
            return self._read_reg(int(p[1:], 16))
        if p.startswith("P"):
            num, value = p[1:].split("=")
            return self._write_reg(int(num, 16), value)
        if p.startswith("m"):
            addr, length = (int(v, 16) for v in p[1:].split(","))
            data = self.m.memory.read(addr, length)
            return "E01" if data is None else data.hex()
        if p.startswith("M"):
            where, data = p[1:].split(":")
            addr, _ = (int(v, 16) for v in where.split(","))
            ok = self.m.memory.write(addr, bytes.fromhex(data))
            if ok:
                self.m.uc.ctl_remove_cache(addr, addr + len(data) // 2)
            return "OK" if ok else "E01"
        if p.startswith("Z0") or p.startswith("Z1"):
            self.breaks.add(int(p.split(",")[1], 16))
            return "OK"
        if p.startswith("z0") or p.startswith("z1"):
            self.breaks.discard(int(p.split(",")[1], 16))
            return "OK"
        if p == "vCont?":
            return "vCont;c;C;s;S"
        if p.startswith("vCont;"):
            action = p[6:].split(";")[0].split(":")[0]
            return self._resume(step=action[0] in "sS")
        if p[:1] in ("c", "C"):
            return self._resume(step=False)
        if p[:1] in ("s", "S"):
            return self._resume(step=True)
        if p == "D":
            self._send("OK")
            self._finish()
            return _CLOSE
        if p == "k":
            return _CLOSE
        return ""

    def _resume(self, step: bool) -> str:
        if self.result is not None:
            return self._exit_reply()
        self._stepping = step
        self._interrupted = False
        result = self.m.resume()
        if result is not None:
            self.result = result
            return self._exit_reply()
        return self._stop_reply(SIGINT if self._interrupted else SIGTRAP)

    def _finish(self) -> None:
        """After detach the run goes on to its end, without stops."""
        self.breaks.clear()
        self._stepping = False
        while self.result is None:
            self.result = self.m.resume()

    def _stop_reply(self, sig: int) -> str:
        if self.result is not None:
            return self._exit_reply()
        return f"T{sig:02x}thread:1;"

    def _exit_reply(self) -> str:
        r = self.result
        if r.reason.value == "semihost-exit":
            return f"W{(r.code or 0) & 0xFF:02x}"
        if r.reason.value == "system-off":
            return "W00"
        return f"X{SIGSEGV:02x}"

    # Registers ----------------------------------------------------------------------------
    def _core(self) -> list[int]:
        cpu = self.m.cpu
        return cpu.xs() + [cpu.sp, cpu.pc]

    def _sysreg(self, name: str) -> int:
        cpu, uc = self.m.cpu, self.m.uc
        kind, el = name.rsplit("_el", 1)
        el = int(el)
        if name == "hcr_el2":
            return cpu.sysreg(HCR_EL2)
        if name == "scr_el3":
            return cpu.sysreg(SCR_EL3)
        if kind == "sp":
            return uc.reg_read(SP_EL[el])
        if kind == "spsr":
            return cpu.sysreg(spsr_reg(el))
        return uc.reg_read({"esr": ESR, "elr": ELR, "vbar": VBAR}[kind][el])

    def _read_reg(self, n: int) -> str:
        if n < len(CORE):
            return _le(self._core()[n], 8)
        if n == len(CORE):
            return _le(self.m.cpu.pstate, 4)
        i = n - len(CORE) - 1
        return _le(self._sysreg(SYSREGS[i]), 8) if i < len(SYSREGS) else "E01"

    def _write_reg(self, n: int, hexval: str) -> str:
        value = int.from_bytes(bytes.fromhex(hexval), "little")
        cpu = self.m.cpu
        if n < 31:
            cpu.set_x(n, value)
        elif n == 31:
            cpu.sp = value
        elif n == 32:
            cpu.pc = value
        elif n == 33:           # PSTATE: flags and DAIF; the EL is not changed from gdb
            keep = cpu.pstate & 0x1F
            self.m.uc.reg_write(uca.UC_ARM64_REG_PSTATE, (value & ~0x1F) | keep)
        else:
            return "E01"
        return "OK"

    def _write_all(self, data: str) -> str:
        for n in range(len(CORE)):
            self._write_reg(n, data[16 * n:16 * n + 16])
        return "OK"


class _Marker:
    pass


_CLOSE, _NOTHING = _Marker(), _Marker()


def _le(value: int, size: int) -> str:
    return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little").hex()


def _escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in "#$}*":
            out.append("}" + chr(ord(ch) ^ 0x20))
        else:
            out.append(ch)
    return "".join(out)
