"""The GDB remote stub: real gdb-multiarch in batch mode, loopback only, raw packets."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

from conftest import ROOT, require_tool
from ffaemu.gdbstub import GdbStub, target_xml
from ffaemu.loader import load_asm
from ffaemu.machine import Machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_listener(proc, timeout=20.0) -> str:
    deadline = time.time() + timeout
    line = ""
    while time.time() < deadline:
        line = proc.stderr.readline()
        if "waiting for gdb" in line:
            return line
    raise AssertionError(f"ffaemu did not start listening: {line!r}")


def test_gdb_multiarch_session():
    gdb = require_tool("gdb-multiarch", "gdb-multiarch")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ffaemu", "run", str(ROOT / "asm/el1/ffa_deferred.S"),
                             "--el3", "tfa-spmd", "--el2", str(ROOT / "asm/el2/pkvm_proxy_s32.S"),
                             "--gdb", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_listener(proc).strip() == f"ffaemu: waiting for gdb on 127.0.0.1:{port}"
        vector = load_asm(ROOT / "asm/el2/pkvm_proxy_s32.S", 0x4E00_0000).symbols["el2_vectors"] + 0x400
        script = [
            "set architecture aarch64",
            f"target remote 127.0.0.1:{port}",
            "p/x $cpsr",                 # EL1h at the guest's entry
            f"hbreak *{vector:#x}",      # VBAR_EL2 + 0x400: lower EL, AArch64, synchronous
            "continue",                  # the pKVM init hypercall (HVC)
            "continue",                  # the guest's FFA_VERSION, trapped by HCR_EL2.TSC
            "p/x $esr_el2",
            "p/x $elr_el2",
            "p/x $cpsr",
            "stepi",
            "p/x $pc",
            "detach",
        ]
        out = subprocess.run([gdb, "-q", "-batch", "-nx"] + [a for c in script for a in ("-ex", c)],
                             capture_output=True, text=True, timeout=60).stdout
        values = [line.split(" = ")[1] for line in out.splitlines() if line.startswith("$")]
        assert values[0] == "0x3c5"                  # M[3:0] = EL1h, DAIF masked (the real PSTATE)
        assert values[1] == "0x5e000000"             # ESR_EL2: EC 0x17 SMC64, IL, imm16 0 (ARCH.md)
        assert values[2] == "0x40104044"             # ELR_EL2: the trapped SMC itself (ARCH.md)
        assert values[3] == "0x3c9"                  # now at EL2h
        assert int(values[4], 16) == load_asm(ROOT / "asm/el2/pkvm_proxy_s32.S", 0x4E00_0000).symbols["el2_sync_lower"]
        assert "detached" in out
        proc.wait(timeout=30)
        assert proc.returncode == 0
        assert "[ffaemu] system-off" in proc.stderr.read()
    finally:
        proc.kill()


def _stub_for(source: str, tmp_path):
    src = tmp_path / "t.S"
    src.write_text(source)
    m = Machine()
    image = m.load(load_asm(src))
    stub = GdbStub(m, 0, start_at=image.entry)
    m.start(image.entry)
    thread = threading.Thread(target=stub.serve, daemon=True)
    thread.start()
    return stub, thread, image


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)

    def packet(self, body: str) -> str:
        data = body.encode()
        self.s.sendall(b"$" + data + b"#" + f"{sum(data) & 0xFF:02x}".encode())
        assert self.s.recv(1) == b"+"
        return self.read()

    def read(self) -> str:
        buf = b""
        while not buf.endswith(b"#"):
            buf += self.s.recv(1)
        self.s.recv(2)
        self.s.sendall(b"+")
        return buf[buf.index(b"$") + 1:-1].decode()


def test_listens_on_loopback_only(tmp_path):
    stub, thread, _ = _stub_for("b .\n", tmp_path)
    try:
        assert stub.sock.getsockname()[0] == "127.0.0.1"
    finally:
        c = Client(stub.port)
        c.s.sendall(b"$k#6b")
        thread.join(timeout=10)


def test_raw_protocol_and_ctrl_c(tmp_path):
    stub, thread, image = _stub_for("start: mov x5, #7\nspin: b spin\n", tmp_path)
    c = Client(stub.port)
    assert "qXfer:features:read+" in c.packet("qSupported:multiprocess+")
    assert c.packet("?") == "T05thread:1;"
    xml = c.packet("qXfer:features:read:target.xml:0,fff")
    assert xml[0] == "l" and '<reg name="cpsr" bitsize="32"' in xml and "esr_el2" in xml
    assert c.packet("p21") == (0x400003CD).to_bytes(4, "little").hex()   # cpsr = PSTATE: EL3h at reset
    assert c.packet(f"m{image.entry:x},4") == bytes(image.segments[0].data[:4]).hex()
    assert c.packet("m80000000,4") == "E01"
    assert c.packet("s") == "T05thread:1;"
    assert c.packet("p5") == (7).to_bytes(8, "little").hex()             # x5 after one step
    assert c.packet(f"Z0,{image.symbols['spin']:x},4") == "OK"
    assert c.packet("c") == "T05thread:1;"
    assert c.packet("p20") == image.symbols["spin"].to_bytes(8, "little").hex()   # pc
    assert c.packet(f"z0,{image.symbols['spin']:x},4") == "OK"
    c.s.sendall(b"$c#63")
    assert c.s.recv(1) == b"+"
    time.sleep(0.3)
    c.s.sendall(b"\x03")                          # Ctrl-C while the loop runs
    assert c.read() == "T02thread:1;"
    c.s.sendall(b"$k#6b")
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_target_description_lists_core_and_sysregs():
    xml = target_xml()
    for name in ["x0", "x30", "sp", "pc", "cpsr", "esr_el1", "elr_el3", "spsr_el2", "vbar_el2",
                 "hcr_el2", "scr_el3"]:
        assert f'name="{name}"' in xml
