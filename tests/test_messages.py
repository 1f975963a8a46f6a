"""What a new user reads: harness-memory overlaps, refused option combinations, the fault
for an exception nobody handles, --help for every subcommand, and traces that say who
called and what never returned."""
from __future__ import annotations

import argparse
import json

import pytest

from ffaemu import scenarios
from ffaemu.cli import build_parser, main

from conftest import ROOT

PSCI_OFF = ROOT / "asm" / "el1" / "psci_off.S"


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("base, hit, part", [
    # Harness memory is 0x40000000-0x400fffff (memmap.HARNESS_BASE/HARNESS_SIZE); psci_off.S is 64 bytes.
    ("0x40000000", "0x40000000-0x4000003f", "the boot stubs, trampoline and unhandled-exception vectors"),
    ("0x40080000", "0x40080000-0x4008003f", "the EL2 model's own RX/TX mailbox"),      # pkvm.HYP_TX
    ("0x400ffff0", "0x400ffff0-0x400fffff", "reserved for the harness"),                 # straddles the end
])
def test_any_overlap_with_harness_memory_is_refused(capsys, base, hit, part):
    code, out, err = run_cli(capsys, "run", PSCI_OFF, "--base", base)
    end = int(base, 16) + 63
    assert code == 2 and out == ""
    assert err == (f"ffaemu: error: {PSCI_OFF}: segment {base}-{end:#x} overlaps harness memory "
                   f"0x40000000-0x400fffff at {hit} ({part}); user images go at 0x40100000 and above\n")


def test_elf_guest_in_the_mailbox_is_refused(tmp_path, capsys):
    """The issue's case: an ELF guest at 0x40080000 (pKVM's HYP_TX) was accepted under models."""
    from ffaemu.loader import Image, Segment, write_elf
    elf = tmp_path / "low.elf"
    write_elf(elf, Image([Segment(0x4008_0000, bytes(16))], 0x4008_0000, {}, "low"))
    code, _, err = run_cli(capsys, "run", elf, "--el3", "tfa-spmd", "--el2", "pkvm")
    assert code == 2
    assert err == (f"ffaemu: error: {elf}: segment 0x40080000-0x4008000f overlaps harness memory "
                   "0x40000000-0x400fffff at 0x40080000-0x4008000f (the EL2 model's own RX/TX "
                   "mailbox); user images go at 0x40100000 and above\n")


def test_debug_json_is_refused(capsys):
    code, out, err = run_cli(capsys, "debug", PSCI_OFF, "--json")
    assert (code, out) == (2, "")
    assert err == "ffaemu: error: --json is for `ffaemu run`; `ffaemu debug` prints its session as text\n"


def test_unhandled_smc_names_pc_symbol_and_instruction(tmp_path, capsys):
    guest = tmp_path / "smc.S"
    guest.write_text("_start:\n    nop\ncall_fw:\n    smc #0\n")
    code, _, err = run_cli(capsys, "run", guest)
    # From EL3 with VBAR_EL3 = 0 (its reset value here): the SMC's vector, 0x200 (current EL,
    # SP_ELx, synchronous: Arm ARM D1.10.2), is not code.
    assert code == 1
    assert err == ("[ffaemu] fault: no exception handler: SMC64 at 0x40100004 <call_fw> `smc #0` "
                   "taken from EL3 to EL3 vectored to 0x200 (VBAR_EL3=0x0), which is not valid code "
                   "(`udf #0`)\n")


def test_unhandled_hvc_at_harness_vector_names_the_instruction(tmp_path, capsys):
    guest = tmp_path / "hvc.S"
    guest.write_text("_start:\n    nop\nfoo:\n    hvc #0\n    b .\n")
    code, _, err = run_cli(capsys, "run", guest, "--el3", "tfa")
    # HVC from EL1 goes to EL2 (SCR_EL3.HCE=1), where no model runs: the harness's EL2
    # vectors, lower EL AArch64 synchronous at +0x400; ESR EC 0x16 (HVC64) << 26.
    assert code == 1
    assert err == ("[ffaemu] fault: exception to EL2 from 0x40100004 <foo> `hvc #0` at vector offset "
                   "0x400 (ESR_EL2=0x5a000000, ELR_EL2=0x40100008) was not handled by the EL2 model\n")


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for inner, subsub in _subparsers(sub):
                    yield f"{name} {inner}", subsub


def test_every_argument_is_documented_with_its_default():
    commands = dict(_subparsers(build_parser()))
    assert {"run", "debug", "list", "explore", "scenario", "scenario run", "scenario list"} <= set(commands)
    for name, sub in commands.items():
        text = sub.format_help()
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"`ffaemu {name}`: {action.option_strings or action.dest} has no help"
            if action.default not in (None, False):
                assert "default" in sub._get_formatter()._get_help_string(action), (name, action.dest)
        assert "%(default)" not in text


def test_scenario_run_help_lists_the_names():
    text = dict(_subparsers(build_parser()))["scenario run"].format_help()
    for name in scenarios.registry():
        assert name in text.replace("-\n", "-").replace("\n", " ").replace(" " * 24, "")


def test_trace_file_has_calls_that_never_returned(tmp_path, capsys):
    path = tmp_path / "t.jsonl"
    assert main(["run", str(PSCI_OFF), "--el3", "tfa-spmd", "--trace-file", str(path)]) == 0
    calls = [e for e in map(json.loads, path.read_text().splitlines()) if e["type"] == "call"]
    assert [c["name"] for c in calls] == ["PSCI_VERSION", "PSCI_SYSTEM_OFF"]
    assert calls[0]["ret"][0] == "0x10001"          # PSCI 1.1 (the tfa-spmd model)
    assert calls[1]["ret"] is None                  # SYSTEM_OFF ends the run inside the call


def test_multi_vm_traces_name_vm_and_vcpu(tmp_path, capsys):
    path = tmp_path / "t.jsonl"
    main(["run", str(ROOT / "asm/el1/xen_guest.S"), "--el3", "tfa-spmd", "--el2", "xen",
          "--vms", "2", "--vcpus", "2", "--trace", "--trace-file", str(path)])
    out = capsys.readouterr().out.splitlines()
    # Round robin at every trap: vm0.0, vm0.1, vm1.0, vm1.1 (models/hyp/xen.py _schedule).
    first = [line.split(":")[0] for line in out if "EL1 -> EL2 xen" in line][:4]
    assert first == ["vm0.0", "vm0.1", "vm1.0", "vm1.1"]
    calls = [e for e in map(json.loads, path.read_text().splitlines()) if e["type"] == "call"]
    assert {c["vcpu"] for c in calls} == {"vm0.0", "vm0.1", "vm1.0", "vm1.1"}


def test_xen_scenario_shows_what_each_vcpu_asked_and_got():
    lines = []
    scenarios.get("xen-per-vm-negotiation").run("buggy", lines.append)
    rows = [ln.split(None, 2)[1:] for ln in lines if ln.strip().startswith("| vm")]
    # xen_guest.S's script: vm0.0 asks 1.1 first; Xen answers its own version, 1.2 (FFA.md).
    assert rows[0] == ["vm0.0", "asked FFA_VERSION(1.1)           got 1.2 (w0=0x10002)"]
    # vm0.1 asks 2.0: another major version, refused by the legacy mediator with NOT_SUPPORTED.
    assert rows[1][0] == "vm0.1" and rows[1][1].startswith("asked FFA_VERSION(2.0)") \
        and "got NOT_SUPPORTED (w0=0xffffffff" in rows[1][1]
