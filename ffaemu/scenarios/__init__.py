"""Scenarios: the seed bugs reproduced end to end, buggy vs fixed, with a verdict each.

A scenario runs one or more configurations per variant, prints their trace through
`out`, and returns a `VariantResult` whose one-line verdict a user can act on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import FfaemuError
from ..resources import data_dir

ASM = data_dir("asm")
Out = Callable[[str], None]


@dataclass
class VariantResult:
    scenario: str
    variant: str
    verdict: str
    bug_shown: bool
    expects_bug: bool
    details: dict = field(default_factory=dict)

    @property
    def as_expected(self) -> bool:
        return self.bug_shown == self.expects_bug


class Scenario:
    name = ""
    summary = ""
    project = ""               # whose bug: pKVM, Xen, TF-A, Hafnium
    fix = ""                   # the upstream fix commit ("" when there is none upstream)
    title = ""                 # its subject line
    variants: dict[str, tuple[bool, str]] = {}     # variant -> (expects the bug, description)

    variant_options: dict[str, str] = {}            # variant -> the model option selecting it

    def option(self, variant: str) -> str:
        """The model option (`MODEL:key=value`) that selects `variant`."""
        return self.variant_options.get(variant) or self.variants[variant][1]

    def run(self, variant: str, out: Out) -> VariantResult:
        raise NotImplementedError

    def result(self, variant: str, verdict: str, bug_shown: bool, **details) -> VariantResult:
        return VariantResult(self.name, variant, verdict, bug_shown, self.variants[variant][0], details)


def registry() -> dict[str, Scenario]:
    from .pkvm_builtin_driver import PkvmBuiltinDriver
    from .pkvm_version_sext import PkvmVersionSext
    from .xen_per_vm_negotiation import XenPerVmNegotiation
    from . import zoo_pkvm, zoo_tfa, zoo_xen
    scenarios = [PkvmVersionSext(), PkvmBuiltinDriver(), XenPerVmNegotiation(),
                 *zoo_pkvm.SCENARIOS, *zoo_xen.SCENARIOS, *zoo_tfa.SCENARIOS]
    return {s.name: s for s in scenarios}


PROJECTS = ("pKVM", "Xen", "TF-A", "Hafnium")


def by_project() -> dict[str, list[Scenario]]:
    """The scenarios grouped by the project whose bug they reproduce."""
    groups: dict[str, list[Scenario]] = {p: [] for p in PROJECTS}
    for sc in registry().values():
        groups.setdefault(sc.project, []).append(sc)
    return {p: scs for p, scs in groups.items() if scs}


def get(name: str) -> Scenario:
    scenarios = registry()
    if name not in scenarios:
        raise FfaemuError(f"unknown scenario '{name}' (valid: {', '.join(scenarios)})")
    return scenarios[name]


def variants_to_run(scenario: Scenario, variant: str | None) -> list[str]:
    if variant is None:
        return list(scenario.variants)
    if variant not in scenario.variants:
        raise FfaemuError(f"unknown variant '{variant}' for {scenario.name} "
                          f"(valid: {', '.join(scenario.variants)})")
    return [variant]


def guest(name: str) -> Path:
    path = ASM / "el1" / name
    if not path.exists():
        raise FfaemuError(f"scenarios need ffaemu's asm/ directory ({path} is missing: "
                          f"reinstall ffaemu, or run from a checkout)")
    return path
