"""`--trace insn`, `--trace calls` and `--trace-file` (JSON lines)."""
from __future__ import annotations

import json

from conftest import ROOT
from ffaemu.cli import main

GUEST = str(ROOT / "asm/el1/psci_off.S")


def test_insn_trace_shows_el_symbol_disassembly_and_writes(capsys):
    assert main(["run", GUEST, "--el3", "tfa", "--trace", "insn"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["EL3", "0x40000000", "<el3_boot>", "mov", "x0,", "#0x400f0000", "x0=0x400f0000"]
    eret = next(ln for ln in lines if "eret" in ln and ln.startswith("EL2"))
    assert eret.endswith("sp=0x400d0000 pstate=0x3c5")          # to EL1h, on SP_EL1
    smc = next(ln for ln in lines if ln.startswith("EL1") and "smc #0" in ln)
    assert smc.split()[1:3] == ["0x40100004", "<_start+0x4>"] and smc.endswith("x0=0x10001")  # PSCI 1.1
    assert not any(ln.startswith("EL1 ->") for ln in lines)      # calls were not asked for


def test_trace_file_json_lines(capsys, tmp_path):
    path = tmp_path / "trace.jsonl"
    assert main(["run", GUEST, "--el3", "tfa", "--trace", "insn", "--trace", "calls",
                 "--trace-file", str(path)]) == 0
    out = capsys.readouterr().out
    events = [json.loads(line) for line in path.read_text().splitlines()]
    kinds = {e["type"] for e in events}
    assert kinds == {"insn", "call", "exception"}
    smc = next(e for e in events if e["type"] == "insn" and e["insn"] == "smc #0")
    assert smc == {"type": "insn", "el": 1, "pc": "0x40100004", "symbol": "_start+0x4",
                   "insn": "smc #0", "writes": {"x0": "0x10001"},
                   "line": "psci_off.S:5"}                     # psci_off.S line 5: `smc #0`
    call = next(e for e in events if e["type"] == "call")
    assert (call["name"], call["handler"], call["ret"][0]) == ("PSCI_VERSION", "tfa", "0x10001")
    exc = next(e for e in events if e["type"] == "exception")
    assert (exc["class"], exc["esr"], exc["reason"], exc["handler"]) == ("SMC64", "0x5e000000", "SMC", "python")
    assert "EL1 -> EL3 tfa" in out and "PSCI_VERSION()  [smc #0x0 at 0x40100004 <_start+0x4> psci_off.S:5, SMC]" in out


def test_calls_trace_to_file_only_with_json(capsys, tmp_path):
    path = tmp_path / "calls.jsonl"
    assert main(["run", GUEST, "--el3", "tfa", "--json", "--trace-file", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)                    # stdout stays one JSON object
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    calls = [e for e in lines if e["type"] == "call"]
    # PSCI_VERSION returns; PSCI SYSTEM_OFF ends the run inside the call: written with ret null.
    assert [(c["name"], c["ret"] is None) for c in calls] == [("PSCI_VERSION", False), ("PSCI_SYSTEM_OFF", True)]
    assert doc["calls"][0]["name"] == "PSCI_VERSION"


def test_insn_trace_is_refused_in_debug(capsys):
    assert main(["debug", GUEST, "--el3", "tfa", "--trace", "insn"]) == 2
    assert "--trace insn is for `ffaemu run`" in capsys.readouterr().err


def test_bad_trace_kind(capsys):
    assert main(["run", GUEST, "--trace", "everything"]) == 2
    assert "argument --trace: invalid choice: 'everything' (choose from 'calls', 'insn')" in capsys.readouterr().err
