"""Build and run a machine for an EL1 guest under firmware and hypervisor models.

Used by `ffaemu run --el3` and by the scenarios, so both run exactly the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .loader import load_image
from .machine import DEFAULT_MAX_INSNS, Machine, RunResult
from .models.fw import FIRMWARE
from .models.hyp import HYPERVISORS


@dataclass
class GuestRun:
    result: RunResult
    firmware: object
    hypervisor: object
    machine: Machine


def run_guest(guest: str | Path, el3: str, el2: str = "none", *, fw_upper: str = "real",
              seed: int = 0, cpu: str = "a72", max_insns: int = DEFAULT_MAX_INSNS,
              console: Callable[[str], None] | None = None,
              trace: Callable[[str], None] | None = None) -> GuestRun:
    """Boot `guest` at NS-EL1 through real EL3/EL2 stubs with the named models."""
    firmware = FIRMWARE.create(el3, upper=fw_upper, seed=seed)
    hypervisor = HYPERVISORS.create(el2)
    machine = Machine(cpu=cpu, max_insns=max_insns, console=console, trace=trace)
    image = machine.load(load_image(guest))
    entry = machine.boot_guest(image.entry, el3=firmware, el2=hypervisor.handler,
                               traps_smc=hypervisor.traps_smc)
    return GuestRun(machine.run(entry), firmware, hypervisor, machine)
