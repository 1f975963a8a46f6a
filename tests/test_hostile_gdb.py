"""Hostile GDB clients (issue 14): NAK on bad checksums, E01 on malformed packets, a
packet size limit, one client at a time, and a chosen behaviour on disconnect."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

from conftest import ROOT, require_tool
from test_gdbstub import Client, free_port, wait_for_listener
from ffaemu.gdbstub import MAX_PACKET, GdbStub
from ffaemu.loader import load_asm
from ffaemu.machine import Machine

SPIN = "start: mov x5, #7\nspin: b spin\n"
EXIT = "start: mov x0, #0x18\nldr x1, =blk\nhlt #0xf000\n.balign 8\nblk: .quad 0x20026, 0\n"


def _serve(source: str, tmp_path, on_disconnect: str = "wait"):
    src = tmp_path / "t.S"
    src.write_text(source)
    m = Machine()
    image = m.load(load_asm(src))
    stub = GdbStub(m, 0, start_at=image.entry, on_disconnect=on_disconnect)
    m.start(image.entry)
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", stub.serve()), daemon=True)
    thread.start()
    return stub, thread, image, box


def _frame(body: bytes) -> bytes:
    return b"$" + body + b"#" + f"{sum(body) & 0xFF:02x}".encode()


def test_bad_checksum_is_nakked_and_the_resend_served(tmp_path):
    stub, thread, _, _ = _serve(SPIN, tmp_path)
    c = Client(stub.port)
    c.s.sendall(b"$?#00")                     # checksum of "?" is 0x3f: NAK (RSP "Packet Acknowledgment")
    assert c.s.recv(1) == b"-"
    assert c.packet("?") == "T05thread:1;"
    c.s.sendall(b"$k#6b")
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_malformed_packets_get_e01_and_the_session_goes_on(tmp_path):
    stub, thread, image, _ = _serve(SPIN, tmp_path)
    c = Client(stub.port)
    for bad in ["pzz", "p-1", "P1=zz", "P1", "m40100000", "mzz,4", f"m{image.entry:x},100000",
                "Z0,zz,4", "Z0", "z0,1", "vCont;", "vCont;q", "G" + "zz" * 300, "G00",
                "M40100000,4:zz", "M40100000,8:00", "qXfer:features:read:target.xml:zz"]:
        assert c.packet(bad) == "E01", bad
    assert c.packet("p5") == (0).to_bytes(8, "little").hex()        # still stopped at the start
    c.s.sendall(b"$k#6b")
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_oversized_packet_is_refused_fast(tmp_path):
    stub, thread, _, _ = _serve(SPIN, tmp_path)
    c = Client(stub.port)
    start = time.monotonic()
    c.s.sendall(b"$" + b"m" * (1 << 20) + b"#00")      # 1 MiB: far over MAX_PACKET
    naks = b""
    while not naks.endswith(b"-"):
        naks += c.s.recv(64)
    assert set(naks) == {ord("-")}
    assert time.monotonic() - start < 5          # was 54 s with byte-wise reads
    assert len(b"m" * (1 << 20)) > MAX_PACKET
    assert c.packet("?") == "T05thread:1;"
    c.s.sendall(b"$k#6b")
    thread.join(timeout=10)


def test_second_client_is_refused_with_a_reason(tmp_path):
    stub, thread, _, _ = _serve(SPIN, tmp_path)
    first = Client(stub.port)
    assert first.packet("?") == "T05thread:1;"
    second = socket.create_connection(("127.0.0.1", stub.port), timeout=10)
    second.sendall(_frame(b"qSupported"))
    data = b""
    while True:
        chunk = second.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"$E.ffaemu: another gdb client is connected")
    assert first.packet("?") == "T05thread:1;"        # the first one is untouched
    first.s.sendall(b"$k#6b")
    thread.join(timeout=10)


def test_port_probe_does_not_end_the_run_by_default(tmp_path):
    stub, thread, image, _ = _serve(SPIN, tmp_path)
    socket.create_connection(("127.0.0.1", stub.port), timeout=10).close()    # a port probe
    c = Client(stub.port)                                                     # then real gdb
    assert c.packet("s") == "T05thread:1;"
    assert c.packet("p5") == (7).to_bytes(8, "little").hex()
    c.s.sendall(b"$k#6b")
    thread.join(timeout=10)
    assert stub.ended_by == "kill"


def test_disconnect_stop_and_continue(tmp_path):
    stub, thread, _, box = _serve(SPIN, tmp_path, on_disconnect="stop")
    c = Client(stub.port)
    assert c.packet("?") == "T05thread:1;"
    c.s.close()
    thread.join(timeout=10)
    assert not thread.is_alive() and box["result"] is None and stub.ended_by == "disconnect"

    stub, thread, _, box = _serve(EXIT, tmp_path, on_disconnect="continue")
    c = Client(stub.port)
    assert c.packet("?") == "T05thread:1;"
    c.s.close()
    thread.join(timeout=10)
    assert box["result"].reason.value == "semihost-exit" and box["result"].code == 0


def test_gdb_multiarch_after_a_port_probe():
    gdb = require_tool("gdb-multiarch", "gdb-multiarch")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ffaemu", "run", str(ROOT / "asm/el1/ffa_deferred.S"),
                             "--el3", "tfa-spmd", "--el2", "pkvm", "--gdb", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_listener(proc)
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
        script = ["set architecture aarch64", f"target remote 127.0.0.1:{port}", "p/x $cpsr",
                  "maint packet pzz", "p/x $cpsr", "detach"]
        out = subprocess.run([gdb, "-q", "-batch", "-nx"] + [a for c in script for a in ("-ex", c)],
                             capture_output=True, text=True, timeout=60).stdout
        values = [line.split(" = ")[1] for line in out.splitlines() if line.startswith("$")]
        assert values == ["0x3c5", "0x3c5"]                # EL1h, before and after the bad packet
        assert 'received: "E01"' in out
        proc.wait(timeout=30)
        assert proc.returncode == 0                        # detach: the run went on to system-off
    finally:
        proc.kill()
