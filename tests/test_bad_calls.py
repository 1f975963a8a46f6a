"""Garbage in FF-A calls: the modelled FF-A error, never a Python exception."""
from __future__ import annotations

import random

import pytest

from ffaemu.ffa.abi import FfaId
from ffaemu.ffa.conv import Call
from ffaemu.machine import Machine
from ffaemu.models.fw import FIRMWARE
from ffaemu.models.fw.base import FirmwarePanic
from conftest import run_call_table
from ffaemu.runner import run_guest

FIDS = [int(f) for f in FfaId] + [0x84000000 | n for n in range(0x60, 0x92)] + [0xC4000000 | n for n in range(0x60, 0x92)]


@pytest.mark.parametrize("spec", FIRMWARE.names() + ["tfa-spmd:spmc=absent"])
def test_firmware_survives_random_registers(spec):
    rng = random.Random(spec)
    model = FIRMWARE.create(spec, upper="garbage", seed=3)
    mem = Machine().memory
    mem.write(0x4020_0000, bytes(rng.getrandbits(8) for _ in range(4096)))   # random TX content
    try:
        model.handle(Call([FfaId.FFA_RXTX_MAP_64, 0x4020_0000, 0x4020_1000, 1] + [0] * 4), mem)
    except FirmwarePanic:        # tfa-spmd:spmc=absent: a forwarded call hangs the real system
        pass
    for _ in range(3000):
        fid = rng.choice(FIDS) | (rng.getrandbits(32) << 32 if rng.random() < 0.5 else 0)
        xs = [fid] + [rng.getrandbits(64) if rng.random() < 0.7 else rng.getrandbits(8) for _ in range(7)]
        try:
            regs = model.fill(model.handle(Call(xs), mem))
        except FirmwarePanic as panic:   # the real firmware hangs here: the run stops with this
            assert str(panic)
            continue
        assert all(0 <= r < 1 << 64 for r in regs)


@pytest.mark.parametrize("el2", ["pkvm", "xen"])
def test_hypervisors_survive_random_calls(el2, tmp_path):
    rng = random.Random(el2)
    calls = [(rng.choice(FIDS), tuple(rng.getrandbits(64) for _ in range(5)), "smc")
             for _ in range(300)]
    calls.insert(0, (0x84000063, (0x10002,), "smc"))            # negotiate, so calls get served
    _, run = run_call_table(tmp_path, "tfa-spmd", el2, calls)
    assert run.result.reason.value == "system-off", run.result.message


def test_pkvm_refuses_descriptor_outside_host_memory(tmp_path):
    """A share of hypervisor memory: DENIED (Linux v6.18 ffa.c ffa_host_share_ranges:
    __pkvm_host_share_ffa fails), and EL3 records nothing."""
    from ffaemu.ffa import memdesc
    from ffaemu.models.hyp.pkvm import HYP_TX
    desc = memdesc.build(0, 0x8001, HYP_TX, 1)
    src = tmp_path / "g.S"
    quads = "\n".join(f"    .quad {int.from_bytes(desc[i:i + 8], 'little'):#x}" for i in range(0, len(desc), 8))
    src.write_text(f"""
_start:
    ldr x0, =0xC6000001
    hvc #0
    ldr x0, =0x84000063
    ldr x1, =0x10002
    smc #0
    ldr x0, =0xC4000066
    ldr x1, =tx
    ldr x2, =rx
    mov x3, #1
    smc #0
    ldr x0, =0xC4000073
    mov x1, #{len(desc)}
    mov x2, #{len(desc)}
    mov x3, #0
    mov x4, #0
    smc #0
    mov x19, x0
    mov x20, x2
    ldr x0, =0x84000008
    smc #0
    .balign 4096
tx:
{quads}
    .balign 4096
rx: .space 4096
""")
    run = run_guest(src, "tfa-spmd", "pkvm")
    assert (run.result.regs["x19"], run.result.regs["x20"]) == (0x84000060, 0xFFFF_FFFF_FFFF_FFFA)
    assert run.firmware.ffa.shares == {} and run.hypervisor.shared_pages == set()
