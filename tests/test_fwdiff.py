"""The real-firmware differential suite: each guest in tests/fwdiff/ makes a sequence of SMCs
with sentinels in x1-x17 and prints x0-x17 after every call (asm/lib/regdump.S). Its console
on the ffaemu model (`run_guest`, no EL2) must be byte-identical to its console on the real
image that grounds the model (../shared/real-firmware, found through $FFAEMU_FIRMWARE) under
QEMU. One test per model spec runs that spec's guests, so each QEMU worker boots few images.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT, real_firmware
from ffaemu.runner import run_guest

GUESTS = ROOT / "tests" / "fwdiff"
EVERY = ("tfa", "tfa-spmd:spmc=absent", "optee", "optee:release=4.4")
WITH_SPMC = ("tfa", "optee", "optee:release=4.4")
# guest -> the model specs it runs on. The SPMD without an SPMC hangs on any call it forwards
# (spmd_hang.S shows that), so the guests that reach an SPMC skip it.
SUITE = {
    "spmd_local": EVERY,
    "features": WITH_SPMC,
    "partitions": WITH_SPMC,
    "memory": WITH_SPMC,
    "spmd_hang": ("tfa-spmd:spmc=absent",),
}
HANG_TIMEOUT = 3.0          # the real system hangs: QEMU is stopped after this
CALL_LINE = re.compile(r"^call (\d+): ", re.M)


def _model_console(guest: Path, spec: str) -> tuple[str, str, str]:
    run = run_guest(guest, spec).result
    return run.console, run.reason.value, run.message


def _first_difference(model: str, real: str) -> str:
    """The first call whose line differs, model vs real, register by register."""
    m_lines, r_lines = model.splitlines(), real.splitlines()
    for n in range(max(len(m_lines), len(r_lines))):
        m = m_lines[n] if n < len(m_lines) else "<no line>"
        r = r_lines[n] if n < len(r_lines) else "<no line>"
        if m != r:
            regs = [(a, b) for a, b in zip(m.split(" "), r.split(" ")) if a != b]
            detail = ", ".join(f"model {a} / real {b}" for a, b in regs[:6])
            return f"line {n + 1} differs: {detail}\n  model: {m}\n  real:  {r}"
    return "consoles differ only in trailing bytes"


@pytest.mark.qemu
@pytest.mark.parametrize("spec", EVERY)
def test_model_matches_real_firmware(spec: str):
    from ffaemu.backends.qemu import run_on_firmware
    firmware = real_firmware(spec)
    for name, specs in SUITE.items():
        if spec not in specs:
            continue
        guest = GUESTS / f"{name}.S"
        hangs = name == "spmd_hang"
        real = run_on_firmware(guest, firmware, timeout=HANG_TIMEOUT if hangs else 30.0)
        model, reason, message = _model_console(guest, spec)
        if hangs:
            assert real.reason == "timeout", f"{name}: the real SPMD did not hang ({real.reason})"
            assert reason == "fault" and "firmware panic" in message, (reason, message)
        else:
            assert real.ok, f"{name} on {firmware.name}: {real.reason} {real.exit_code}"
            assert reason == "semihost-exit", (reason, message)
        assert len(CALL_LINE.findall(real.console)) >= 3, f"{name}: too few calls on real firmware"
        assert model == real.console, f"{name}.S under --el3 {spec}: " + _first_difference(model, real.console)


def test_suite_size():
    """At least 100 calls across the suite (counted in the guests: one FFA macro per call)."""
    calls = 0
    for name in SUITE:
        text = (GUESTS / f"{name}.S").read_text()
        body = text[text.index("main:"):]
        irp = re.findall(r"^\s*\.irp id, (.*)$", body, re.M)
        calls += len(re.findall(r"^\s*FFA\s", body, re.M)) - len(irp)
        calls += sum(len(line.split(",")) for line in irp)
    assert calls >= 100, calls
