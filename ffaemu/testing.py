"""Helpers for users' own tests (the pytest plugin exposes `run` as the `ffaemu_run` fixture).

    from ffaemu.testing import assert_ffa_version, assert_ffa_error, firmware_matrix

`run(...)` returns the same data as `ffaemu run --json`, with registers as integers.
The assertions compare W views (SMC32 results are 32-bit) and, when they fail, say
whether bits [63:32] were zero, a sign extension, or garbage.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .arch.bits import s32, upper_kind, w
from .ffa.abi import FfaError, FfaId, error_name, version, version_str
from .ffa.conv import UpperPolicy
from .loader import load_image
from .machine import DEFAULT_MAX_INSNS, Machine, RunResult
from .models.fw import FIRMWARE
from .runner import build_guest


@dataclass
class Outcome:
    """One run, as `ffaemu run --json` reports it."""

    exit: dict
    console: str
    regs: dict[str, int]
    exceptions: list[dict]
    calls: list[dict]
    result: RunResult


MAX_BOOTED = 16          # booted machines kept for reuse by `run` (one per configuration)
_booted: dict[tuple, tuple] = {}


def reset() -> None:
    """Forget the booted machines `run` keeps for reuse (the next run builds afresh)."""
    _booted.clear()


def _booted_machine(key: tuple, build) -> tuple:
    """(machine, entry) for `key`: booted once by `build()` and snapshotted, then restored."""
    hit = _booted.pop(key, None)
    if hit is None:
        hit = build()
        hit[0].snapshot()
    else:
        hit[0].restore()
    _booted[key] = hit
    while len(_booted) > MAX_BOOTED:
        _booted.pop(next(iter(_booted)))
    return hit


def run(image: str | Path, el3: str | None = None, el2: str = "none", *, fw_upper: str = "real",
        seed: int = 0, vms: int = 1, vcpus: int = 1, max_insns: int = DEFAULT_MAX_INSNS,
        cpu: str = "a72", reuse: bool = True) -> Outcome:
    """Run `image`: from EL3 when `el3` is None, else as an EL1 guest under the models.
    With `reuse`, a machine booted for the same image (unchanged on disk) and options is
    restored from its snapshot (Machine.snapshot) instead of built again; `reset()`
    forgets them."""
    def build():
        if el3 is not None:
            setup = build_guest(image, el3, el2, fw_upper=fw_upper, seed=seed, vms=vms,
                                vcpus=vcpus, max_insns=max_insns, cpu=cpu)
            return setup.machine, setup.entry
        m = Machine(cpu=cpu, max_insns=max_insns)
        return m, m.load(load_image(image)).entry

    try:
        st = Path(image).stat() if reuse else None
    except OSError:
        st = None                  # build() names the problem
    if st is not None:
        key = (str(Path(image).resolve()), st.st_mtime_ns, st.st_size, el3, el2, fw_upper, seed,
               vms, vcpus, max_insns, cpu)
        machine, entry = _booted_machine(key, build)
    else:
        machine, entry = build()
    res = machine.run(entry)
    return Outcome({"reason": res.reason.value, "code": res.code, "message": res.message},
                   res.console, dict(res.regs), [e.as_json() for e in res.exceptions],
                   [c.as_json() for c in res.calls], res)


def _describe(value: int, reg: str) -> str:
    kind = {"zero": "zero", "sign": "a sign extension of w", "other": "garbage"}[upper_kind(value)]
    return f"w{reg}={w(value):#010x} (x{reg}={value:#018x}, bits [63:32] {kind})"


def _version_word(expected) -> int:
    if isinstance(expected, str):
        major, minor = (int(p) for p in expected.split("."))
        return version(major, minor)
    if isinstance(expected, tuple):
        return version(*expected)
    return expected


def assert_ffa_version(value: int, expected, reg: str = "0") -> None:
    """The W view of an FFA_VERSION answer is `expected` ("1.2", (1, 2), 0x10002, or
    FfaError.NOT_SUPPORTED)."""
    want = expected & 0xFFFF_FFFF if isinstance(expected, int) and expected < 0 else _version_word(expected)
    if w(value) != want:
        got = error_name(value) if s32(value) < 0 else version_str(value)
        wanted = error_name(want) if s32(want) < 0 else version_str(want)
        raise AssertionError(f"FFA_VERSION answered {got}, expected {wanted}: {_describe(value, reg)}")


def assert_ffa_error(value, code: FfaError | int) -> None:
    """`value` (x2, or a regs dict with x0 and x2) is FFA_ERROR with error `code` (W views)."""
    if isinstance(value, dict):
        if w(value["x0"]) != FfaId.FFA_ERROR:
            raise AssertionError(f"expected FFA_ERROR, got {_describe(value['x0'], '0')}")
        value = value["x2"]
    if s32(value) != int(code):
        raise AssertionError(f"expected FFA_ERROR {FfaError(code).name}, got {error_name(value)}: "
                             f"{_describe(value, '2')}")


def firmware_matrix(models=None, uppers=None):
    """`@firmware_matrix()` parametrizes a test over (el3, fw_upper): every firmware model
    (or `models`) x every `--fw-upper` policy (or `uppers`)."""
    import pytest
    models = models or FIRMWARE.names()
    uppers = uppers or [p.value for p in UpperPolicy]
    cases = [(m, u) for m in models for u in uppers]
    return pytest.mark.parametrize("el3, fw_upper", cases, ids=[f"{m}-{u}" for m, u in cases])
