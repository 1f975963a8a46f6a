"""Snapshot restarts (Machine.snapshot/restore): a run on a restored machine gives the
same bytes as a run on a freshly built one, for every firmware x hypervisor pair."""
from __future__ import annotations

import pytest

from ffaemu import widthfuzz
from ffaemu.errors import FfaemuError
from ffaemu.machine import Machine
from ffaemu.widthfuzz import FIRMWARE, HYPERVISORS, Case, _table, run_calls

# Garbage in bits [63:32] and x8-x17, and seeded garbage from the firmware: the restored
# firmware must draw the same numbers as a fresh one.
NOISY = Case(inputs=tuple(range(0x1000_0001, 0x1000_0001 + 48)),
             high=tuple(0xA5A5_0000_0000_0000 + n for n in range(60)), upper="garbage", seed=7,
             upper_on=("FFA_VERSION", "FFA_FEATURES"))


def _everything(el3: str, el2: str, case: Case, reuse: bool) -> tuple:
    res, run, regs = run_calls(el3, el2, _table(case, el2), case.upper, case.seed, case.upper_on,
                               reuse=reuse)
    return (res.reason, res.code, res.message, res.el, res.regs, res.console,
            [e.as_json() for e in res.exceptions], [c.as_json() for c in res.calls], regs,
            run.machine.traps, run.machine.counter.insns)


@pytest.mark.parametrize("el2", HYPERVISORS)
@pytest.mark.parametrize("el3", FIRMWARE)
def test_restored_run_is_byte_identical(el3, el2):
    widthfuzz._booted.clear()
    for case in (Case(), NOISY):
        fresh = _everything(el3, el2, case, reuse=False)
        first = _everything(el3, el2, case, reuse=True)      # boots and snapshots
        other = _everything(el3, el2, Case(calls=("id-get",)), reuse=True)
        again = _everything(el3, el2, case, reuse=True)      # restored after another run
        assert first == fresh
        assert again == fresh
        assert other != fresh


def test_restore_needs_a_snapshot_of_this_machine():
    with pytest.raises(FfaemuError, match="needs a snapshot"):
        Machine().restore()


HARNESS_WRITE = """
_start:
    ldr x0, =0x40001000             // the harness trampoline: read-only to guest code
    mov x1, #1
    str x1, [x0]
    b .
"""


@pytest.mark.parametrize("guest, el3, el2", [
    ("asm/el1/ffa_deferred.S", "tfa-spmd", "pkvm"),
    ("asm/el1/ffa_deferred.S", "optee", "xen"),
    ("harness_write.S", "tfa", "none"),
    ("tests/diff/images/fp_trap_el1_to_el3.S", None, "none"),     # run from EL3, no models
])
def test_ffaemu_run_reuses_a_booted_machine(guest, el3, el2, tmp_path):
    from pathlib import Path

    from ffaemu import testing
    if guest == "harness_write.S":
        path = tmp_path / guest
        path.write_text(HARNESS_WRITE)
    else:
        path = Path(__file__).resolve().parent.parent / guest
    testing.reset()
    fresh = testing.run(path, el3, el2, reuse=False)
    runs = [testing.run(path, el3, el2) for _ in range(3)]      # boot + snapshot, 2 restores
    assert len(testing._booted) == 1
    for got in runs:
        assert (got.exit, got.console, got.regs, got.exceptions, got.calls) == \
            (fresh.exit, fresh.console, fresh.regs, fresh.exceptions, fresh.calls)
    if guest == "harness_write.S":   # guest writes to harness memory fault, restored or not
        assert fresh.exit["reason"] == "fault" and "which guest code may not write" in fresh.exit["message"]
