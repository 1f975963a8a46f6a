"""Bug 3: Xen's per-VM FF-A version negotiation (FFA.md), 2 VMs x 2 vCPUs.

buggy: `xen:negotiation=legacy` (2024-2025); fixed: `negotiation=per-vm` (Dec 2025).
Each rule is checked against the mediator's record of every call (`Xen.events`).
"""
from __future__ import annotations

from ..ffa.abi import V1_2, VERSION_MAJOR, VERSION_MINOR, FfaError, FfaId, version_str
from ..ffa.decode import describe_call, describe_result, fid_name
from ..runner import run_guest
from . import Out, Scenario, VariantResult, guest
from .pkvm_version_sext import _console

VMS, VCPUS = 2, 2
SPS = 2                                   # the firmware models' secure partitions
NS_W = FfaError.NOT_SUPPORTED & 0xFFFF_FFFF
CONFIGS = {"buggy": "xen:negotiation=legacy", "fixed": "xen:negotiation=per-vm"}


def _tmp_rule(req: int) -> int:
    """What a pre-publication FFA_VERSION(req) records (FFA.md: out of range -> 1.2)."""
    return V1_2 if VERSION_MAJOR.get(req) != 1 or VERSION_MINOR.get(req) > 2 else req


def check_rules(events, domains) -> list[tuple[str, bool, str]]:
    """(rule, holds, evidence) for each Xen rule of FFA.md."""
    rules = []
    by_vm = {vm: [e for e in events if e.vm == vm] for vm in range(len(domains))}

    bad = [e for evs in by_vm.values() for i, e in enumerate(evs) if e.call != "VERSION"
           and not any(p.call == "VERSION" for p in evs[:i])
           and not (e.w0 == FfaId.FFA_ERROR and e.w2 == NS_W and e.guest_vers == 0)]
    rules.append(("other ABIs before any FFA_VERSION are refused (NOT_SUPPORTED), nothing published",
                  not bad, f"{bad[0].vcpu} FFA_{bad[0].call} answered w0={bad[0].w0:#x}" if bad else ""))

    wrong = []
    for vm, evs in by_vm.items():
        first = next((i for i, e in enumerate(evs) if e.call != "VERSION" and e.w0 != FfaId.FFA_ERROR), None)
        versions = [e for e in evs[:first] if e.call == "VERSION"] if first is not None else []
        if versions and domains[vm].guest_vers != _tmp_rule(versions[-1].arg):
            wrong.append(f"vm{vm} published {version_str(domains[vm].guest_vers)}, its last request "
                         f"before the first other call was {version_str(versions[-1].arg)}")
    rules.append(("FFA_VERSION may repeat until the first other ABI; the last request is published "
                  "(any vCPU's)", not wrong, "; ".join(wrong)))

    out_of_range = [e for e in events if e.call == "VERSION" and _tmp_rule(e.arg) == V1_2
                    and e.arg != V1_2 and e.guest_vers == 0 and e.guest_vers_tmp != V1_2]
    rules.append(("an out-of-range request (other major, minor > 2) records 1.2",
                  not out_of_range, f"{out_of_range[0].vcpu} recorded "
                  f"{version_str(out_of_range[0].guest_vers_tmp)}" if out_of_range else ""))

    changed = []
    for vm, evs in by_vm.items():
        published = [e.guest_vers for e in evs if e.guest_vers]
        if len(set(published)) > 1:
            changed.append(f"vm{vm}: {' -> '.join(version_str(v) for v in dict.fromkeys(published))}")
    rules.append(("once published, the version never changes and FFA_VERSION answers 1.2",
                  not changed and all(e.w0 == V1_2 for e in events if e.call == "VERSION" and e.guest_vers),
                  "; ".join(changed)))

    # Negotiation is complete once a VM makes a successful call other than FFA_VERSION
    # (DEN0077 v1.2 §13.2.2); only then may other VMs see it.
    seen_early = []
    for e in events:
        if e.call == "PARTITION_INFO_GET" and e.w0 == FfaId.FFA_SUCCESS:
            published_before = {p.vm for p in events[:e.seq] if p.call != "VERSION"
                                and p.w0 != FfaId.FFA_ERROR} - {e.vm}
            if e.w2 != SPS + len(published_before):
                seen_early.append(f"{e.vcpu} counted {e.w2} partitions, expected {SPS} SPs + "
                                  f"{len(published_before)} published VMs")
    rules.append(("a VM is visible to other VMs' partition queries only after it publishes",
                  not seen_early, "; ".join(seen_early)))
    return rules


def asked_and_got(events) -> list[str]:
    """One line per call the mediator answered: which vCPU, what it asked, what it got."""
    rows = []
    for e in events:
        fid = FfaId[f"FFA_{e.call}"]              # the mediator records w1 only: args for VERSION
        asked = describe_call([fid, e.arg]) if e.call == "VERSION" else fid_name(fid)
        rows.append(f"| {e.vcpu} asked {asked:<26} got {describe_result(fid, [e.w0, 0, e.w2, 0])}")
    return rows


class XenPerVmNegotiation(Scenario):
    name = "xen-per-vm-negotiation"
    summary = "bug 3: Xen's per-VM FF-A version negotiation, 2 VMs x 2 vCPUs"
    project, fix, title = "Xen", "ad2d3a7daf", "xen/arm: ffa: per-VM FFA_VERSION negotiation state"
    variant_options = {"buggy": "xen:negotiation=legacy", "fixed": "xen:negotiation=per-vm"}
    variants = {"buggy": (True, "negotiation=legacy (2024-2025)"),
                "fixed": (False, "negotiation=per-vm (Dec 2025)")}

    def run(self, variant: str, out: Out) -> VariantResult:
        lines: list[str] = []
        run = run_guest(guest("xen_guest.S"), "tfa-spmd", CONFIGS[variant], vms=VMS, vcpus=VCPUS,
                        console=_console(lines))
        xen = run.hypervisor
        for line in asked_and_got(xen.events):
            out("   " + line)
        rules = check_rules(xen.events, xen.domains)
        for rule, holds, evidence in rules:
            out(f"   {'ok      ' if holds else 'VIOLATED'} {rule}{'' if holds else ': ' + evidence}")
        broken = [r for r in rules if not r[1]]
        published = ", ".join(f"vm{d.vm}={version_str(d.guest_vers) if d.guest_vers else 'none'}"
                              for d in xen.domains)
        if broken:
            verdict = (f"{len(broken)} of {len(rules)} negotiation rules broken ({published}): "
                       + "; ".join(f"{r[0]} - {r[2]}" for r in broken))
        else:
            verdict = (f"all {len(rules)} negotiation rules hold for {VMS} VMs x {VCPUS} vCPUs "
                       f"(published: {published})")
        return self.result(variant, verdict, bool(broken), rules=rules, events=xen.events,
                           domains=xen.domains, result=run.result)
