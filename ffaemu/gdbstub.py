"""A GDB remote serial protocol stub for a Machine, on 127.0.0.1 only.

udbserver (PyPI) was evaluated and does not fit: it listens on all interfaces, reports
CPSR as 0 and exposes no system registers. This stub offers a target description with
x0-x30, sp, pc, cpsr (the real PSTATE, so gdb shows the right EL) and the EL1-EL3
exception registers, HCR_EL2 and SCR_EL3; g/G/p/P, m/M, s/c/vCont, Z0/z0 and Z1/z1,
`?`, detach, kill and Ctrl-C (checked on the socket every few thousand instructions).

Hostile clients: packets are read in blocks and limited to MAX_PACKET bytes; a bad
checksum gets `-` (NAK, the client retransmits); a malformed packet gets `E01` (bad
hex, missing fields, out-of-range register numbers or lengths) and the session goes
on. One client at a time: a second one gets `E.` with a reason and is closed. A client
that closes its socket without `D`/`k` (a port probe, a crashed gdb) leaves the run to
`on_disconnect`: `wait` for the next client (default), `continue` to the end, or `stop`.
"""
from __future__ import annotations

import re
import select
import socket
from typing import Callable

from unicorn import arm64_const as uca

from .arch.sysregs import ELR, ESR, HCR_EL2, SCR_EL3, SP_EL, VBAR, spsr_reg
from .machine import Machine, RunResult

SIGINT, SIGTRAP, SIGSEGV = 2, 5, 11
POLL_EVERY = 4096                      # instructions between Ctrl-C checks
MAX_PACKET = 0x4000                    # bytes of packet body (what qSupported advertises)
MAX_MEM_READ = MAX_PACKET // 2 - 16    # `m` length: its hex must fit one packet
ON_DISCONNECT = ("wait", "continue", "stop")
REFUSE_LINGER = 0.5                    # seconds a refused second client gets to read why
_HEX = re.compile(r"[0-9a-fA-F]{1,16}\Z")


class Malformed(ValueError):
    """A packet that does not parse: answered with E01."""


def _hex(text: str) -> int:
    """A strict hex number (no sign, no 0x, at most 64 bits): `p-1` is not register -1."""
    if not _HEX.match(text):
        raise Malformed(f"not a hex number: {text[:20]!r}")
    return int(text, 16)


def _hex_bytes(text: str) -> bytes:
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2})*", text):
        raise Malformed(f"bad hex data: {text[:20]!r}")
    return bytes.fromhex(text)
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
                 announce: Callable[[str], None] | None = None, on_disconnect: str = "wait"):
        if on_disconnect not in ON_DISCONNECT:
            raise ValueError(f"on_disconnect must be one of {ON_DISCONNECT}")
        self.m = machine
        self.on_disconnect = on_disconnect
        self._rx = bytearray()
        self._disconnected = False
        self.ended_by: str | None = None      # "detach", "kill", "disconnect"
        self._free_running = False            # after detach: no more polling of the socket
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
        if self._count % POLL_EVERY == 0 and not self._free_running and self._ctrl_c():
            self._interrupted = True
            return True
        return False

    def on_exception(self, routing, spsr, how) -> None:
        pass

    def _ctrl_c(self) -> bool:
        """While running: a pending Ctrl-C, or the client gone, pauses the run."""
        self._refuse_others()
        if not self._rx:
            try:
                data = self.conn.recv(4096, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                data = b""
            if not data:
                self._disconnected = True
                return True
            self._rx += data
        if b"\x03" in self._rx:
            del self._rx[:self._rx.index(b"\x03") + 1]
            return True
        return False

    def _refuse_others(self) -> None:
        """Answer any further client with an error and close it: one client at a time."""
        while select.select([self.sock], [], [], 0)[0]:
            other, addr = self.sock.accept()
            try:
                other.sendall(_frame("E.ffaemu: another gdb client is connected; one at a time"))
                other.shutdown(socket.SHUT_WR)
                other.settimeout(REFUSE_LINGER)       # let it read the reason before we close:
                while other.recv(4096):               # closing with its packet unread resets
                    pass
            except OSError:
                pass
            other.close()
            if self._announce:
                self._announce(f"refused a second gdb client from {addr[0]}:{addr[1]}: one at a time")

    # Serving -----------------------------------------------------------------------------
    def serve(self) -> RunResult | None:
        """Run to the first user instruction, then serve gdb until it detaches or kills."""
        if self._stop_at is not None:
            self.result = self.m.resume()
        if self._announce:
            self._announce(f"waiting for gdb on 127.0.0.1:{self.port}")
        try:
            while True:
                self.conn, _ = self.sock.accept()
                self._rx.clear()
                self.ack, self._disconnected = True, False
                try:
                    self.ended_by = self._session()
                finally:
                    self.conn.close()
                if self.ended_by != "disconnect" or self.on_disconnect != "wait" or self.result is not None:
                    break
                if self._announce:
                    self._announce(f"gdb disconnected; waiting for gdb on 127.0.0.1:{self.port}")
        finally:
            self.sock.close()
        if self.ended_by == "disconnect" and self.on_disconnect == "continue":
            self._finish()
        return self.result

    def _session(self) -> str:
        """Serve one client; how it ended: "detach", "kill" or "disconnect"."""
        while True:
            packet = self._read_packet()
            if packet is None:
                return "disconnect"
            try:
                reply = self._handle(packet)
            except Malformed:
                reply = "E01"
            if reply is _CLOSE:
                return "kill" if packet == "k" else "detach"
            if reply is not _NOTHING and not self._send(reply):
                return "disconnect"
            if self._disconnected:
                return "disconnect"

    def _fill(self) -> bool:
        """Read what the client sent (in blocks, never byte by byte); False at EOF."""
        while True:
            ready = select.select([self.conn, self.sock], [], [])[0]
            if self.conn in ready:              # first: a probe's EOF lets the next one in
                break
            self._refuse_others()
        try:
            data = self.conn.recv(65536)
        except OSError:
            data = b""
        self._rx += data
        return bool(data)

    def _read_packet(self) -> str | None:
        """The next packet's body; `-` answers a bad checksum or an oversized packet."""
        while True:
            rx = self._rx
            start = next((i for i, b in enumerate(rx) if b in b"$\x03"), None)
            if start is None:
                rx.clear()                      # acks and noise
            elif rx[start] == 0x03:             # interrupt while stopped: report a stop
                del rx[:start + 1]
                return "?"
            else:
                del rx[:start]
                end = rx.find(b"#")
                if end >= 0 and len(rx) >= end + 3:
                    body, checksum = bytes(rx[1:end]), bytes(rx[end + 1:end + 3])
                    del rx[:end + 3]
                    if self._checksum_ok(body, checksum):
                        if self.ack and not self._write(b"+"):
                            return None
                        return body.decode("latin-1")
                    if not self._write(b"-"):
                        return None
                    continue
                if end < 0 and len(rx) > MAX_PACKET + 4:
                    del rx[:]                   # oversized: drop it, ask for a resend
                    if not self._write(b"-"):
                        return None
                    continue
            if not self._fill():
                return None

    def _checksum_ok(self, body: bytes, checksum: bytes) -> bool:
        if len(body) > MAX_PACKET:
            return False
        if not self.ack:                        # QStartNoAckMode: checksums are not checked
            return True
        try:
            return int(checksum, 16) == sum(body) & 0xFF
        except ValueError:
            return False

    def _write(self, data: bytes) -> bool:
        try:
            self.conn.sendall(data)
            return True
        except OSError:
            self._disconnected = True
            return False

    def _send(self, data: str) -> bool:
        """Send a reply (resending once on `-`); False if the client has gone."""
        for _ in range(2):
            if not self._write(_frame(data)):
                return False
            if not self.ack:
                return True
            while not self._rx and self._fill():
                pass
            if not self._rx:
                return False
            if self._rx[:1] == b"-":
                del self._rx[:1]
                continue
            if self._rx[:1] == b"+":
                del self._rx[:1]
            return True
        return True

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
            off, length = _pair(p.rsplit(":", 1)[1])
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
            return self._read_reg(_hex(p[1:]))
        if p.startswith("P"):
            num, sep, value = p[1:].partition("=")
            if not sep:
                raise Malformed("P needs n=value")
            return self._write_reg(_hex(num), value)
        if p.startswith("m"):
            addr, length = _pair(p[1:])
            if length > MAX_MEM_READ:
                return "E01"
            data = self.m.memory.read(addr, length)
            return "E01" if data is None else data.hex()
        if p.startswith("M"):
            where, sep, hexdata = p[1:].partition(":")
            addr, length = _pair(where)
            data = _hex_bytes(hexdata)
            if not sep or len(data) != length:
                raise Malformed("M length does not match its data")
            ok = self.m.memory.write(addr, data)
            if ok:
                self.m.uc.ctl_remove_cache(addr, addr + len(data))
            return "OK" if ok else "E01"
        if p[:2] in ("Z0", "Z1", "z0", "z1"):
            fields = p.split(",")
            if len(fields) != 3:
                raise Malformed("Z/z needs type,addr,kind")
            addr, _kind = _hex(fields[1]), _hex(fields[2])
            (self.breaks.add if p[0] == "Z" else self.breaks.discard)(addr)
            return "OK"
        if p == "vCont?":
            return "vCont;c;C;s;S"
        if p.startswith("vCont;"):
            action = p[6:].split(";")[0].split(":")[0]
            if action[:1] not in ("c", "C", "s", "S"):
                raise Malformed("vCont needs an action")
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
        self._free_running = True
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
        if n < 0:
            return "E01"
        if n < len(CORE):
            return _le(self._core()[n], 8)
        if n == len(CORE):
            return _le(self.m.cpu.pstate, 4)
        i = n - len(CORE) - 1
        return _le(self._sysreg(SYSREGS[i]), 8) if i < len(SYSREGS) else "E01"

    def _write_reg(self, n: int, hexval: str) -> str:
        raw = _hex_bytes(hexval)
        if len(raw) != (4 if n == len(CORE) else 8):
            raise Malformed("register value of the wrong size")
        value = int.from_bytes(raw, "little")
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
        """G: the core registers (x0-x30, sp, pc) must all be there and all be hex; the
        rest (cpsr, system registers) is ignored. Nothing is written unless all parse."""
        _hex_bytes(data)
        if len(data) < 16 * len(CORE):
            raise Malformed("G is shorter than the core registers")
        values = [data[16 * n:16 * n + 16] for n in range(len(CORE))]
        for n, v in enumerate(values):
            self._write_reg(n, v)
        return "OK"


class _Marker:
    pass


_CLOSE, _NOTHING = _Marker(), _Marker()


def _pair(text: str) -> tuple[int, int]:
    """`addr,length` in strict hex."""
    first, sep, second = text.partition(",")
    if not sep:
        raise Malformed("expected addr,length")
    return _hex(first), _hex(second)


def _frame(data: str) -> bytes:
    body = data.encode("latin-1")
    return b"$" + body + b"#" + f"{sum(body) & 0xFF:02x}".encode()


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
