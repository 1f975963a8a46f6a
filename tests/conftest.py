"""Shared fixtures: machines, images, and the qemu-system-aarch64 reference."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ffaemu.loader import load_asm, load_elf, write_elf  # noqa: E402
from ffaemu.machine import Machine  # noqa: E402

QEMU = "qemu-system-aarch64"
QEMU_ARGS = ["-M", "virt,secure=on,virtualization=on", "-cpu", "max", "-nographic",
             "-net", "none", "-semihosting"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str, package: str) -> str:
    """Path of a host tool; in CI its absence fails the test, elsewhere it skips."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} not found: install it with `apt-get install {package}`"
    if IN_CI:
        pytest.fail(message + " (CI=true: the differential suite must run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def qemu() -> str:
    return require_tool(QEMU, "qemu-system-arm")


def run_qemu(qemu_path: str, elf: Path, timeout: float = 10,
             first_line_only: bool = False) -> tuple[int | None, str]:
    """Run an ELF on QEMU virt from EL3; return (exit status or None if stopped, console).

    With `first_line_only`, stop QEMU once the first console line has arrived (for images
    QEMU never finishes), however long that takes up to `timeout`.
    """
    proc = subprocess.Popen([qemu_path, *QEMU_ARGS, "-device", f"loader,file={elf},cpu-num=0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    if first_line_only:
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        line = proc.stdout.readline()
        timer.cancel()
        proc.kill()
        proc.communicate()
        return None, line.decode("latin-1").replace("\r\n", "\n")
    try:
        out, _ = proc.communicate(timeout=timeout)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        status = None
    return status, out.decode("latin-1").replace("\r\n", "\n")


def asm_to_elf(source: Path, out_dir: Path) -> Path:
    elf = out_dir / (source.stem + ".elf")
    write_elf(elf, load_asm(source))
    return elf


def run_elf(elf: Path, cpu: str = "max", **kw):
    m = Machine(cpu=cpu, **kw)
    m.load(load_elf(elf))
    return m.run()


def run_source(text: str, tmp_path: Path, name: str = "t.S", **kw):
    """Assemble `text` (which may .include asm/lib/diag.S by absolute path) and run it."""
    src = tmp_path / name
    src.write_text(text)
    m = Machine(**kw)
    image = m.load(load_asm(src))
    return m, image, m.run()


DIAG = ROOT / "asm" / "lib" / "diag.S"


CALL_TABLE_GUEST = """
_start:
    ldr x19, =calls
    ldr x20, =results
    mov x21, #{count}
1:  ldp x0, x1, [x19], #16
    ldp x2, x3, [x19], #16
    ldp x4, x5, [x19], #16
    ldr x22, [x19], #8
    cbnz x22, 2f
    smc #0
    b 3f
2:  hvc #0
3:  stp x0, x2, [x20], #16
    subs x21, x21, #1
    b.ne 1b
    ldr x0, =0x84000008          // PSCI SYSTEM_OFF
    smc #0
    b .
    .balign 8
calls:
{calls}
results:
    .space {space}
"""


def run_call_table(tmp_path, el3: str, el2: str, calls):
    """Boot a guest that issues each call (fid, args (up to x5), "smc"|"hvc") in turn and
    stores the full 64-bit x0 and x2 it got back; return ([(x0, x2)...], GuestRun)."""
    from ffaemu.runner import run_guest
    rows = []
    for fid, args, how in calls:
        regs = [fid, *args] + [0] * (5 - len(args))
        rows.append("    .quad " + ", ".join(f"{v:#x}" for v in regs + [1 if how == "hvc" else 0]))
    src = tmp_path / "calls.S"
    src.write_text(CALL_TABLE_GUEST.format(count=len(calls), calls="\n".join(rows),
                                           space=16 * len(calls)))
    run = run_guest(src, el3, el2)
    base = run.machine.images[0].symbols["results"]
    raw = run.machine.memory.read(base, 16 * len(calls))
    pairs = [(int.from_bytes(raw[16 * i:16 * i + 8], "little"),
              int.from_bytes(raw[16 * i + 8:16 * i + 16], "little")) for i in range(len(calls))]
    return pairs, run
