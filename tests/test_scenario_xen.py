"""Xen's per-VM negotiation scenario, and running several VMs and vCPUs."""
from __future__ import annotations

from conftest import ROOT
from ffaemu import scenarios
from ffaemu.cli import main


def run(variant):
    lines = []
    return scenarios.get("xen-per-vm-negotiation").run(variant, lines.append), lines


def test_per_vm_holds_every_rule():
    res, lines = run("fixed")
    assert [holds for _, holds, _ in res.details["rules"]] == [True] * 5
    assert not res.bug_shown and res.as_expected
    published = {d.vm: d.guest_vers for d in res.details["domains"]}
    assert published == {0: 0x10001, 1: 0x10001}   # each VM's last request before its first other call
    # vm1.0's early FFA_ID_GET: refused with NOT_SUPPORTED, zero-extended (Xen masks to 32 bits)
    first_vm1 = next(e for e in res.details["events"] if e.vcpu == "vm1.0")
    assert (first_vm1.call, first_vm1.w0, first_vm1.w2, first_vm1.guest_vers) == \
        ("ID_GET", 0x84000060, 0xFFFFFFFF, 0)


def test_legacy_breaks_the_rules():
    res, _ = run("buggy")
    broken = [rule for rule, holds, _ in res.details["rules"] if not holds]
    assert broken == [
        "other ABIs before any FFA_VERSION are refused (NOT_SUPPORTED), nothing published",
        "FFA_VERSION may repeat until the first other ABI; the last request is published (any vCPU's)",
        "once published, the version never changes and FFA_VERSION answers 1.2",
        "a VM is visible to other VMs' partition queries only after it publishes",
    ]
    assert res.bug_shown and res.as_expected


def test_interleaving_is_deterministic():
    a, b = run("fixed")[1], run("fixed")[1]
    assert a == b
    order = [line.split()[1] for line in a if line.strip().startswith("| vm")]
    assert order[:4] == ["vm0.0", "vm0.1", "vm1.0", "vm1.1"]       # round robin


def test_three_vms_three_vcpus(capsys):
    status = main(["run", str(ROOT / "asm/el1/xen_guest.S"), "--el3", "optee", "--el2", "xen",
                   "--vms", "3", "--vcpus", "3"])
    out = capsys.readouterr()
    assert status == 0 and "every vCPU of every VM is off" in out.err
    assert sum(line.startswith("vm2.2 ") for line in out.out.splitlines()) == 3   # default script


def test_vms_need_xen_and_a_source_guest(capsys, tmp_path):
    assert main(["run", str(ROOT / "asm/el1/ffa_deferred.S"), "--el3", "tfa", "--el2", "pkvm",
                 "--vms", "2"]) == 2
    assert "--vms/--vcpus need a hypervisor that runs VMs (--el2 xen), not 'pkvm'" in capsys.readouterr().err
    from ffaemu.loader import load_asm, write_elf
    elf = tmp_path / "g.elf"
    write_elf(elf, load_asm(ROOT / "asm/el1/xen_guest.S"))
    assert main(["run", str(elf), "--el3", "tfa", "--el2", "xen", "--vms", "2"]) == 2
    assert "--vms 2 needs a .S guest" in capsys.readouterr().err
