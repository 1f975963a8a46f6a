"""The bug zoo: real FF-A/SMCCC bugs fixed upstream (../shared/reference/BUGZOO.md), each
reproduced buggy vs fixed as a model option (`MODEL:key=value`; fixed = the default).

A `ZooScenario` runs one or more `Probe`s: a guest (the width fuzzer's call-table guest,
ffaemu/widthfuzz.py) makes a few calls through the named models, and the exact 64-bit
registers of the call that shows the bug are compared with what each variant must give.
The per-project modules (zoo_pkvm.py, zoo_xen.py, zoo_tfa.py) hold the scenarios, each
citing the fix it reproduces.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..ffa.decode import fid_name
from . import Out, Scenario, VariantResult


@dataclass(frozen=True)
class Step:
    """One call of a probe: a label for people, x0.. (up to x17), via HVC?"""

    label: str
    regs: tuple[int, ...]
    hvc: bool = False


@dataclass(frozen=True)
class Probe:
    """A guest run under `el3`/`el2` (the option under test is added to `layer`'s spec),
    and the registers of call `watch` that show the bug: {variant: {register: value}}.
    `stops`: the variants whose run must stop at call `watch` instead ({variant: the stop
    reason, e.g. "fault" for a modelled hang}); their `expected` registers are {}."""

    el3: str
    el2: str
    steps: tuple[Step, ...]
    watch: int
    expected: dict
    prepare: Callable | None = None       # machine -> None: memory set up before the run
    stops: dict = field(default_factory=dict)

    def end(self, variant: str) -> str:
        """How the run must end: at the guest's SYSTEM_OFF unless it stops at `watch`."""
        return self.stops.get(variant, "system-off")


def with_option(spec: str, option: str) -> str:
    """`tfa-spmd` + `req2=legacy` -> `tfa-spmd:req2=legacy` (options appended)."""
    return f"{spec}{',' if ':' in spec else ':'}{option}"


class ZooScenario(Scenario):
    """One upstream fix: `model:key=buggy` vs `model:key=fixed` (the model's default) on
    `layer` ("el3"/"el2"), checked by `probes`. `note` says where the code and BUGZOO.md
    disagree; `expects_bug=False` when the buggy code's difference is not guest-visible."""

    def __init__(self, name: str, project: str, fix: str, title: str, summary: str, model: str,
                 layer: str, key: str, buggy: str, fixed: str, probes: tuple[Probe, ...],
                 note: str = "", expects_bug: bool = True):
        self.name, self.project, self.fix, self.title, self.summary = name, project, fix, title, summary
        self.model, self.layer, self.key, self.buggy, self.fixed = model, layer, key, buggy, fixed
        self.probes, self.note, self.expects_bug = probes, note, expects_bug
        self.variants = {"buggy": (expects_bug, f"{model}:{key}={buggy}"),
                         "fixed": (False, f"{model}:{key}={fixed}")}

    def option(self, variant: str) -> str:
        return f"{self.model}:{self.key}={self.buggy if variant == 'buggy' else self.fixed}"

    def run(self, variant: str, out: Out) -> VariantResult:
        from ..widthfuzz import run_calls
        value = self.buggy if variant == "buggy" else self.fixed
        other = "fixed" if variant == "buggy" else "buggy"
        seen, ok, parts = [], True, []
        for probe in self.probes:
            el3, el2 = probe.el3, probe.el2
            if self.layer == "el3":
                el3 = with_option(el3, f"{self.key}={value}")
            else:
                el2 = with_option(el2, f"{self.key}={value}")
            out(f"-- --el3 {el3} --el2 {el2}")
            lines: list[str] = []
            res, _, regs = run_calls(el3, el2, [(list(s.regs), s.hvc) for s in probe.steps],
                                     trace=lines.append, prepare=probe.prepare)
            for line in lines:
                out("   " + line)
            step, want, end = probe.steps[probe.watch], probe.expected[variant], probe.end(variant)
            returned = probe.watch < len(regs)
            got = {r: regs[probe.watch][r] for r in want} if returned else {}
            ok &= got == want and res.reason.value == end and returned == (end == "system-off")
            shown = _regs(got) if returned else f"run stops ({res.reason.value}): {res.message}"
            parts.append(f"{step.label} -> {shown}"
                         + ("" if (got, res.reason.value) == (want, end) else f" (expected {_regs(want) or end})"))
            seen.append({"el3": el3, "el2": el2, "call": step.label, "fid": fid_name(step.regs[0]),
                         "observed": _hex(got), "expected": _hex(want),
                         "other_variant": _hex(probe.expected[other]), "end": res.reason.value,
                         "expected_end": end, "other_variant_end": probe.end(other)})
        cite = f'{self.project} {self.fix} "{self.title}"'
        if not ok:
            verdict = f"UNEXPECTED with {self.option(variant)}: {'; '.join(parts)} [{cite}]"
        elif variant == "buggy" and self.expects_bug:
            verdict = f"reproduces the bug fixed by {cite}: {'; '.join(parts)}"
        elif variant == "buggy":
            verdict = f"not guest-visible here ({self.note}): {'; '.join(parts)} [{cite}]"
        else:
            verdict = f"behaves as after {cite}: {'; '.join(parts)}"
        expects = self.variants[variant][0]
        return self.result(variant, verdict, expects if ok else not expects, difference=seen)


def _regs(values: dict[int, int]) -> str:
    return " ".join(f"x{r}={v:#018x}" for r, v in values.items())


def _hex(values: dict[int, int]) -> dict[str, str]:
    return {f"x{r}": f"{v:#018x}" for r, v in values.items()}


def fill_tx(tx: int, blob: bytes):
    """A `prepare` hook: write `blob` (e.g. a memory descriptor) to the TX buffer."""
    def prepare(machine) -> None:
        machine.memory.write(tx, blob)
    return prepare
