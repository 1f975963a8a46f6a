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


GET_FIRMWARE = ("export FFAEMU_FIRMWARE=../shared/real-firmware (the prebuilt images) or build "
                "them: ffaemu firmware build --tfa TFA_SRC --optee OPTEE_SRC")


def real_firmware(model: str) -> Path:
    """The real-firmware image grounding `model` (and QEMU to run it); when missing, the test
    fails under CI=true and otherwise skips with the command that gets the images."""
    from ffaemu.backends.images import firmware_for
    from ffaemu.errors import FfaemuError
    require_tool(QEMU, "qemu-system-arm")
    try:
        return firmware_for(model)
    except FfaemuError as e:
        if IN_CI:
            pytest.fail(f"{e} (CI=true: {GET_FIRMWARE})")
        pytest.skip(f"{e}; {GET_FIRMWARE}")


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


def run_call_table(tmp_path, el3: str, el2: str, calls):
    """Issue each call (fid, args (up to x7), "smc"|"hvc") from an EL1 guest and return
    ([(x0, x2) as the guest got them, ...], GuestRun)."""
    from ffaemu.widthfuzz import run_calls
    table = [([fid, *args], how == "hvc") for fid, args, how in calls]
    _, run, regs = run_calls(el3, el2, table)
    return [(r[0], r[2]) for r in regs], run
