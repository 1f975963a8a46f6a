"""Build and run a machine for an EL1 guest under firmware and hypervisor models or images.

Used by `ffaemu run --el3` and by the scenarios, so both run exactly the same thing.
`--el3`/`--el2` take a model name (`tfa-spmd:spmc=absent`) or an image file:
- an EL3 image provides `el3_vectors`, installed in VBAR_EL3 by the harness's EL3 stub;
- an EL2 image is entered at EL2h with x0 = the guest's entry, instead of the EL2 stub.
`.S` and raw EL2/EL3 images load at EL2_BASE/EL3_BASE, away from the guest.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import FfaemuError
from .loader import ASM_SUFFIXES, C_SUFFIXES, RAW_SUFFIXES, Image, load_image
from .machine import DEFAULT_MAX_INSNS, Machine, RunResult
from .memmap import DEFAULT_RAM_SIZE, USER_BASE
from .models.fw import FIRMWARE
from .models.hyp import HYPERVISORS

EL2_BASE = 0x4E00_0000
EL3_BASE = 0x4F00_0000
VM_WINDOW = 0x0100_0000            # each VM's copy of the guest: USER_BASE + vm * VM_WINDOW
IMAGE_SUFFIXES = ASM_SUFFIXES + RAW_SUFFIXES + C_SUFFIXES + (".elf",)
BUILT_AT_BASE = ASM_SUFFIXES + C_SUFFIXES       # placed at a base we choose per VM / role


@dataclass
class GuestRun:
    result: RunResult
    firmware: object          # the EL3 model, or the EL3 Image
    hypervisor: object        # the EL2 model, or the EL2 Image
    machine: Machine


def is_image_spec(spec: str) -> bool:
    """An `--el2/--el3` value names an image file (by suffix or existence), not a model
    (`FILE.py:CLASS` is a user-written model, models/user.py)."""
    from .models.user import is_user_spec
    if is_user_spec(spec):
        return False
    return Path(spec).suffix in IMAGE_SUFFIXES or "/" in spec or Path(spec).is_file()


def _load_vms(machine: Machine, guest: Path, vms: int) -> list[Image]:
    """The guest once per VM, each in its own window (a .S is assembled at each base)."""
    if vms < 1:
        raise FfaemuError(f"--vms must be at least 1, not {vms}")
    if vms > 1 and guest.suffix not in BUILT_AT_BASE:
        raise FfaemuError(f"--vms {vms} needs a .S guest or a .c guest (it is built at each VM's window)")
    if vms == 1:
        return [machine.load(load_image(guest))]
    return [machine.load(load_image(guest, USER_BASE + vm * VM_WINDOW)) for vm in range(vms)]


def _load_side_image(machine: Machine, spec: str, base: int) -> Image:
    path = Path(spec)
    role = "el3" if base == EL3_BASE else "el2"
    image = load_image(path, base if path.suffix in BUILT_AT_BASE + RAW_SUFFIXES else None, role=role)
    return machine.load(image)


@dataclass
class GuestSetup:
    machine: Machine
    entry: int
    firmware: object
    hypervisor: object

    def run(self) -> GuestRun:
        return GuestRun(self.machine.run(self.entry), self.firmware, self.hypervisor, self.machine)


def run_guest(guest: str | Path, el3: str, el2: str = "none", **kw) -> GuestRun:
    """Boot `guest` at NS-EL1 through real EL3/EL2 stubs with the named models or images."""
    return build_guest(guest, el3, el2, **kw).run()


def build_guest(guest: str | Path, el3: str, el2: str = "none", *, fw_upper: str = "real",
                seed: int = 0, cpu: str = "a72", max_insns: int = DEFAULT_MAX_INSNS,
                ram_size: int = DEFAULT_RAM_SIZE, vms: int = 1, vcpus: int = 1,
                console: Callable[[str], None] | None = None,
                trace: Callable[[str], None] | None = None,
                events: Callable[[dict], None] | None = None,
                timeout: float | None = None) -> GuestSetup:
    """Everything `run_guest` does short of running, so callers can add watches first."""
    machine = Machine(cpu=cpu, max_insns=max_insns, ram_size=ram_size, console=console, trace=trace,
                      events=events, timeout=timeout)
    images = _load_vms(machine, Path(guest), vms)
    image = images[0]
    firmware = hypervisor = None
    fw_handler = hyp_handler = vbar_el3 = el2_entry = None
    traps_smc = False
    if is_image_spec(el3):
        firmware = _load_side_image(machine, el3, EL3_BASE)
        if "el3_vectors" not in firmware.symbols:
            raise FfaemuError(f"{el3}: an EL3 image must define the symbol el3_vectors (its VBAR_EL3)")
        vbar_el3 = firmware.symbols["el3_vectors"]
    else:
        firmware = fw_handler = FIRMWARE.create(el3, upper=fw_upper, seed=seed)
    if is_image_spec(el2):
        hypervisor = _load_side_image(machine, el2, EL2_BASE)
        el2_entry = hypervisor.entry
    else:
        hypervisor = HYPERVISORS.create(el2)
        hyp_handler, traps_smc = hypervisor.handler, hypervisor.traps_smc
    setup_vms = getattr(hypervisor, "setup", None)
    if setup_vms is not None:
        setup_vms([img.entry for img in images], vcpus)
    elif vms > 1 or vcpus > 1:
        raise FfaemuError(f"--vms/--vcpus need a hypervisor that runs VMs (--el2 xen), not '{el2}'")
    entry = machine.boot_guest(image.entry, el3=fw_handler, el2=hyp_handler, traps_smc=traps_smc,
                               vbar_el3=vbar_el3, el2_entry=el2_entry)
    return GuestSetup(machine, entry, firmware, hypervisor)
