"""User-written models (`--el2/--el3 FILE.py:CLASS`, ffaemu/api.py): the README's worked
example from an empty directory, one-line errors for bad model files, and the register
checker applied to a user model's answers."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from ffaemu.cli import main
from ffaemu.widthfuzz import Case, observe, run_calls

FFA_ERROR, RESP_32, DENIED_W = 0x8400_0060, 0x8400_0070, 0xFFFF_FFFA    # DEN0077 ids, -6


def readme_block(lang: str, first_line: str) -> str:
    text = (ROOT / "README.md").read_text()
    return re.search(rf"```{lang}\n({re.escape(first_line)}\n.*?)```", text, re.S).group(1)


def ffaemu(args, cwd):
    """The installed package run from `cwd`, which holds nothing of the checkout."""
    return subprocess.run([sys.executable, "-m", "ffaemu", *args], capture_output=True, text=True,
                          cwd=cwd, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_readme_user_model_example_runs_from_an_empty_directory(tmp_path):
    (tmp_path / "my_pkvm.py").write_text(readme_block("python", "# my_pkvm.py - a local pKVM patch: "
                                                      "the host may not send direct messages to SP 0x8002."))
    (tmp_path / "guest.S").write_text(readme_block("asm", "// guest.S - pKVM's init hypercall, "
                                                   "FFA_VERSION(1.2), then a direct request to each SP."))
    results = {}
    for el2 in ("my_pkvm.py:PkvmNoSp2", "pkvm"):
        proc = ffaemu(["run", "guest.S", "--el3", "tfa-spmd", "--el2", el2, "--json"], tmp_path)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out["exit"]["reason"] == "system-off"
        results[el2] = tuple(int(out["regs"][r], 16) for r in ("x19", "x20", "x21"))
        handlers = {c["handler"] for c in out["calls"] if c["to_el"] == 2}
        assert handlers == {"pkvm-local" if ":" in el2 else "pkvm"}
    # SP 0x8001 answers MSG_SEND_DIRECT_RESP_32 under both; the patch refuses 0x8002 with
    # DENIED (-6, x2 zero-extended by the model's trap.ret), stock pKVM passes it through
    # and SP 0x8002 answers with w2 = 0 (DEN0077 v1.2 §15.3: w2 of a response is 0 here).
    assert results == {"my_pkvm.py:PkvmNoSp2": (RESP_32, FFA_ERROR, DENIED_W), "pkvm": (RESP_32, RESP_32, 0)}


BAD = {
    "missing.py:Foo": (None, "missing.py: no such model file"),
    "m.py": ("from ffaemu.api import Pkvm\nclass A(Pkvm):\n    pass\n",
             "m.py: name the model class: --el2 m.py:CLASS"),
    "m.py:Pkvm2": ("from ffaemu.api import Pkvm\nclass PkvmNoSp2(Pkvm):\n    pass\n",
                   "m.py: no class 'Pkvm2' (classes defined there: PkvmNoSp2)"),
    "m.py:Helper": ("import os\n\n\n\n\nclass Helper:\n    pass\n",
                    "m.py:6: 'Helper' is not an EL2 model: subclass ffaemu.api.Hypervisor "
                    "(or Pkvm, Xen, NoHypervisor)"),
    "m.py:X": ("from ffaemu.api import Pkvm\n\nclass X(Pvkm):\n    pass\n",
               "m.py:3: NameError: name 'Pvkm' is not defined (while importing the model file)"),
    "m.py:Y": ("def f(:\n", "m.py:1: SyntaxError: invalid syntax"),
    "m.py:Z": ("from ffaemu.api import Pkvm\nclass Z(Pkvm):\n    def __init__(self, **kw):\n"
               "        super().__init__(**kw)\n        1 / 0\n",
               "m.py:Z: m.py:5: ZeroDivisionError: division by zero (while creating the model)"),
    "m.py:W:bogus=1": ("from ffaemu.api import Pkvm\nclass W(Pkvm):\n    pass\n",
                       "hypervisor model 'pkvm' has no option 'bogus'"),
}


@pytest.mark.parametrize("spec", BAD)
def test_bad_model_files_are_one_line_errors(spec, tmp_path, monkeypatch, capsys):
    source, message = BAD[spec]
    if source is not None:
        (tmp_path / "m.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(ROOT / "asm/el1/psci_off.S"), "--el3", "tfa", "--el2", spec]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ffaemu: error: ") and err.count("\n") == 1, err
    assert message in err


def test_el3_model_must_be_firmware(tmp_path, monkeypatch, capsys):
    (tmp_path / "m.py").write_text("from ffaemu.api import Pkvm\nclass P(Pkvm):\n    pass\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(ROOT / "asm/el1/psci_off.S"), "--el3", "m.py:P"]) == 2
    assert ("m.py:2: 'P' is not an EL3 model: subclass ffaemu.api.Firmware (or Tfa, TfaSpmd, "
            "TfaEl3Spmc, Optee)") in capsys.readouterr().err


FIRMWARE_PATCH = '''
from ffaemu.api import Answer, FfaId, TfaSpmd


class Clobbers(TfaSpmd):
    """A local SPMD patch: FFA_ID_GET answered at EL3 with ID 7, x0-x17 all written."""
    name = "spmd-local"

    def handle(self, call, mem):
        if call.fid == FfaId.FFA_ID_GET:
            return Answer({0: FfaId.FFA_SUCCESS, 2: 7, **{n: 0 for n in (1, *range(3, 18))}})
        return super().handle(call, mem)


class Declares(Clobbers):
    smccc_deviations = {"smc32-preserves-x8-x17": "our patch zeroes x8-x17"}
'''


def test_el3_user_model_answers_go_through_the_register_rules(tmp_path, monkeypatch):
    (tmp_path / "fw.py").write_text(FIRMWARE_PATCH)
    monkeypatch.chdir(tmp_path)
    _, run, regs = run_calls("fw.py:Clobbers", "none", [([FfaId_ID_GET], False)])
    assert (regs[0][0], regs[0][2]) == (0x8400_0061, 7)
    assert run.machine.calls.records[0].handler == "spmd-local"
    case = Case(calls=("id-get",), high=(0x1234,))
    found = [str(v) for v in observe("fw.py:Clobbers", "none", case).violations]
    # DEN0028C §2.6: an SMC32 call preserves x8-x30; the patch wrote x8 = 0.
    assert ("EL3 spmd-local: FFA_ID_GET x8=0x0000000000000000, expected the caller's 0x1234 "
            "[smc32-preserves-x8-x17: DEN0028C §2.6: an SMC32/HVC32 call preserves x8-x30]") in found
    declared = observe("fw.py:Declares", "none", case).violations
    assert declared and all(v.declared == "our patch zeroes x8-x17" for v in declared)


FfaId_ID_GET = 0x8400_0069
