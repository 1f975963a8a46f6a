"""herd7 litmus tests under the ARMv8 model (ffaemu.analysis.litmus / memmodel).

Every expected verdict comes from MEMORY-MODEL.md ("Verdicts under the official model
(aarch64.cat)" and the seed verdicts of "Why sequential consistency is not enough"), which
records herd7 with aarch64.cat, except where the comment names another source.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from ffaemu.analysis import litmus
from ffaemu.analysis.encode import encode_special
from ffaemu.cli import main
from ffaemu.errors import FfaemuError

SUITE = Path(__file__).parent / "litmus"
ALLOWED, FORBIDDEN = "Allowed", "Forbidden"
# MEMORY-MODEL.md, verdict list and seed verdicts (herd7 + aarch64.cat).
VERDICTS = {
    "MP": ALLOWED, "MP+dmb.sy+po": ALLOWED, "MP+po+dmb.sy": ALLOWED, "MP+dmb.ish+ctrl": ALLOWED,
    "SB": ALLOWED, "SB+dmb.sy+rel-acqpc": ALLOWED, "2+2W": ALLOWED, "S": ALLOWED,
    "S+dmb.sy+po": ALLOWED, "R": ALLOWED, "LB": ALLOWED, "IRIW": ALLOWED, "WRC": ALLOWED,
    "ISA2": ALLOWED,
    "MP+dmb.sys": FORBIDDEN, "MP+rel+acq": FORBIDDEN, "MP+rel+acqpc": FORBIDDEN,
    "MP+dmb.ish+addr": FORBIDDEN, "MP+dmb.ish+ctrlisb": FORBIDDEN, "SB+dmb.sys": FORBIDDEN,
    "SB+dmb.sy+rel-acq": FORBIDDEN, "2+2W+dmb.sys": FORBIDDEN, "R+dmb.sys": FORBIDDEN,
    "LB+dmb.sys": FORBIDDEN, "IRIW+dmb.lds": FORBIDDEN, "WRC+rel+addr": FORBIDDEN,
    "CoRR": FORBIDDEN, "CoWR": FORBIDDEN, "CoRW1": FORBIDDEN, "CoRW2": FORBIDDEN, "CoWW": FORBIDDEN,
    # The eight seed tests.
    "XenNeg+lock+po": ALLOWED, "XenNeg+MP": ALLOWED, "XenNeg+lock+acq": FORBIDDEN,
    "XenNeg+lock+addr": FORBIDDEN, "XenNeg+lock+dmb.ld": FORBIDDEN, "XenVers+CoRR": FORBIDDEN,
    "XenVers+rel+acq": FORBIDDEN, "XenVers+wmb+once": ALLOWED,
    # Not in MEMORY-MODEL.md: the Arm ARM (DDI 0487) B2.3 ordering rules (DMB ISHST orders
    # store-store, DMB ISHLD load-load, Store-Release then Load-Acquire is ordered, no
    # out-of-thin-air values) and B2.2 single-copy atomicity of read-modify-writes (LSE atomics).
    "MP+dmb.st+dmb.ld": FORBIDDEN, "MP+dmb.st+addr": FORBIDDEN, "SB+rel-acqs": FORBIDDEN,
    "LB+datas": FORBIDDEN, "ATOM+ldadds": FORBIDDEN, "ATOM+swps": FORBIDDEN, "ATOM+cas": FORBIDDEN,
    "ATOM+stadd+acq": FORBIDDEN,
    # Read->write reordering (MEMORY-MODEL.md: the LB family and WWC need it, and "Register
    # dependencies are required"; Arm ARM B2.3: address, data and control dependencies to a
    # store order it after the load).
    "LB+ctrls": FORBIDDEN, "LB+addrs": FORBIDDEN, "LB+data+po": ALLOWED, "WWC": ALLOWED,
}
# Allowed only through read->write reordering: reached with promises, never without.
NEEDS_PROMISES = {"LB", "S+dmb.sy+po", "LB+data+po", "WWC"}


def _files():
    return sorted(SUITE.glob("*.litmus"))


def test_the_suite_is_complete():
    names = {p.stem for p in _files()}
    assert len(names) >= 40
    assert names == set(VERDICTS)


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.stem)
def test_verdict_under_armv8(path):
    res = litmus.run_file(path)
    expected = VERDICTS[res.test.name]
    assert res.test.quantifier == "exists" and res.executions > 0
    if expected == FORBIDDEN:
        assert res.positive == 0, f"{res.test.name}: a Forbidden outcome was reached"
        assert res.observation == "Never" and not res.ok
    else:
        assert res.positive > 0 and res.ok, f"{res.test.name}: an Allowed outcome was not reached"
        assert res.observation == "Sometimes"


@pytest.mark.parametrize("name", sorted(NEEDS_PROMISES))
def test_read_to_write_reordering_needs_promises(name):
    test = litmus.parse((SUITE / f"{name}.litmus").read_text(), name)
    assert litmus.run(test, promises=False).positive == 0
    assert litmus.run(test).positive > 0


def test_sequential_consistency_reaches_none_of_the_relaxed_outcomes():
    # Every Allowed shape above except the coherence-only ones needs a relaxation: under SC
    # (Lamport 1979) none is observed, and the Forbidden ones stay forbidden.
    for name in ("MP", "SB", "2+2W", "IRIW", "XenNeg+MP", "ISA2", "R"):
        res = litmus.run_file(SUITE / f"{name}.litmus", "sc")
        assert res.positive == 0 and res.negative == res.executions > 0


def test_same_results_every_run():
    a = litmus.run_file(SUITE / "ISA2.litmus").as_json()
    assert a == litmus.run_file(SUITE / "ISA2.litmus").as_json() and a["positive"] > 0


README_TEST = """AArch64 MP+dmb.sy+po
(* Message passing: the writer is ordered, the reader is not. *)
{ 0:X1=x; 0:X3=y; 1:X1=y; 1:X3=x; }
 P0          | P1          ;
 MOV W0,#1   | LDR W0,[X1] ;
 STR W0,[X1] | LDR W2,[X3] ;
 DMB SY      |             ;
 MOV W2,#1   |             ;
 STR W2,[X3] |             ;
exists (1:X0=1 /\\ 1:X2=0)
"""


def test_output_format(tmp_path, capsys):
    f = tmp_path / "mp.litmus"
    f.write_text(README_TEST)
    assert main(["litmus", str(f)]) == 0
    out = capsys.readouterr().out.splitlines()
    # herd7's lines: Test/States/Ok/Witnesses/Condition/Observation; herd7 says Sometimes here.
    assert out[0] == "Test MP+dmb.sy+po Allowed"
    assert out[1] == "States 4"
    assert [ln.split(":>")[1].strip() for ln in out[2:6]] == [
        "1:X0=0; 1:X2=0;", "1:X0=0; 1:X2=1;", "1:X0=1; 1:X2=0;", "1:X0=1; 1:X2=1;"]
    assert out[6] == "Ok"
    assert out[9] == "Condition exists (1:X0=1 /\\ 1:X2=0)"
    assert out[10].startswith("Observation MP+dmb.sy+po Sometimes ")
    p, n = map(int, out[10].split()[3:])
    assert p > 0 and n > 0 and out[8] == f"Positive: {p} Negative: {n}"
    assert main(["litmus", str(f), "--model", "sc", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["observation"] == "Never" and doc["model"] == "sc" and doc["ok"] is False
    assert sum(s["count"] for s in doc["states"]) == doc["executions"] == doc["negative"]


def test_forall_and_not_exists(tmp_path):
    f = tmp_path / "corr.litmus"
    text = (SUITE / "CoRR.litmus").read_text()
    f.write_text(text.replace("exists (1:X0=1 /\\ 1:X2=0)", "~exists (1:X0=1 /\\ 1:X2=0)"))
    res = litmus.run_file(f)
    assert res.kind == "Forbidden" and res.ok and res.observation == "Never"
    f.write_text(text.replace("exists (1:X0=1 /\\ 1:X2=0)", "forall (x=1 /\\ (1:X0=0 \\/ 1:X0=1))"))
    res = litmus.run_file(f)
    assert res.kind == "Required" and res.ok and res.observation == "Always"


BAD = [
    ("X86 SB\n{ }\n P0 ;\n MOV EAX,1 ;\nexists (x=1)", "unsupported architecture line"),
    ("AArch64 T\n P0 ;\n NOP ;\nexists (x=1)", "missing init block"),
    ("AArch64 T\n{ 0:X1=x; }\n P0 ;\n STR W0,[X1] ;\n", "missing final condition"),
    ("AArch64 T\n{ 0:X1=x; }\n P0 | P1 ;\n STR W0,[X1] | NOP ;\nexists (0:X0=1 /\\ )", "condition ends too early"),
    ("AArch64 T\n{ 0:X1=x; }\n P0 ;\n FROB W0,[X1] ;\nexists (x=1)", "unsupported instruction 'FROB W0,[X1]'"),
    ("AArch64 T\n{ 0:X1=x; }\n P0 ;\n LDLAR W0,[X1] ;\nexists (x=1)", "unsupported instruction"),
    ("AArch64 T\n{ 0:X1=x; }\n P0 ;\n LDCLR W0,W2,[X1] ;\nexists (x=1)", "unsupported instruction"),
    ("AArch64 T\n{ 0:X1=PTE(x); }\n P0 ;\n LDR X0,[X1] ;\nexists (x=1)", "page-table entries"),
    ("AArch64 T\n{ 0:X1=x; }\n P0 ;\n STG X1,[X1] ;\nexists (x=1)", "memory tagging"),
    ("AArch64 T\n{ 0:X1=x; }\n P0 ;\n TLBI VMALLE1IS ;\nexists (x=1)", "TLB maintenance"),
    ("AArch64 T\n{ 0:X1=x; }\n P0 ;\n LDR W0,[X1] ;\nfilter (x=1)\nexists (x=1)", "unsupported clause 'filter'"),
    ("AArch64 T\n{ 0:X1=x; }\n P0 | P1 ;\n LDR W0,[X1] ;\nexists (2:X0=1)", "names thread 2"),
    ("AArch64 T\n{ 0:X1=x; }\n Q0 ;\n LDR W0,[X1] ;\nexists (x=1)", "bad thread table header"),
    ("AArch64 T\n{ 0:X99=x; }\n P0 ;\n LDR W0,[X1] ;\nexists (x=1)", "bad register 'X99'"),
    ("AArch64 T\n{ 0:X1=x; }\n P0 ;\n LDR W0,[X1] ;\nexists (x=1 /\\ y==2)", "cannot parse the condition"),
    ("AArch64 T\n{ 0:X1=x; }\n P0 ;\n STR W0,[X1] ;\n LDR X2,[X1] ;\nexists (x=1)", "mixed-size accesses to x"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_is_one_line_error(tmp_path, capsys, text, message):
    f = tmp_path / "t.litmus"
    f.write_text(text)
    assert main(["litmus", str(f)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and err.startswith("ffaemu: error: ") and "\n" not in err
    assert message in err


def test_missing_file_is_one_line_error(capsys):
    assert main(["litmus", "/nonexistent.litmus"]) == 2
    assert "cannot read /nonexistent.litmus" in capsys.readouterr().err


ENCODED = ["ldapr w0, [x1]", "ldapr x3, [x4]", "ldaprb w0, [x1]", "cas w0, w1, [x2]", "casa w0, w1, [x2]",
           "casal x0, x1, [x2]", "casl w3, w4, [x5]", "swp w0, w1, [x2]", "swpal w0, w1, [x2]",
           "ldadd w0, w1, [x2]", "ldadda w0, w1, [x2]", "ldaddal x0, x1, [x2]", "ldaddl w0, w1, [x2]",
           "stadd w0, [x2]", "staddl w0, [x2]", "ldaddb w0, w1, [x2]", "swph w0, w1, [x2]"]


def test_encoder_matches_gnu_as(tmp_path):
    """The LDAPR/LSE encoder against binutils' aarch64-linux-gnu-as (the reference assembler)."""
    gas = shutil.which("aarch64-linux-gnu-as")
    if gas is None:
        if os.environ.get("CI") == "true":
            pytest.fail("aarch64-linux-gnu-as is required in CI")
        pytest.skip("aarch64-linux-gnu-as not installed")
    src, obj, bin_ = tmp_path / "e.S", tmp_path / "e.o", tmp_path / "e.bin"
    src.write_text("\n".join(ENCODED) + "\n")
    subprocess.run([gas, "-march=armv8.4-a", str(src), "-o", str(obj)], check=True)
    subprocess.run(["aarch64-linux-gnu-objcopy", "-O", "binary", str(obj), str(bin_)], check=True)
    words = struct.unpack(f"<{len(ENCODED)}I", bin_.read_bytes())
    assert [encode_special(i, "t") for i in ENCODED] == list(words)
    assert encode_special("ldr w0, [x1]", "t") is None
    with pytest.raises(FfaemuError, match="only \\[Xn\\]"):
        encode_special("ldadd w0, w1, [x2, #8]", "t")


def test_the_readme_example_gives_herds_verdict(tmp_path, capsys):
    """The herd7 file shown in README.md, copied out and run: herd7 says Sometimes (MEMORY-MODEL.md)."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("```litmus\n", 1)[1].split("```", 1)[0]
    f = tmp_path / "readme.litmus"
    f.write_text(block)
    assert main(["litmus", str(f)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Test XenNeg+lock+po Allowed"
    assert [ln for ln in out if ln.startswith("Observation")][0].split()[2] == "Sometimes"
    assert "Ok" in out


def test_too_many_executions_is_an_error_not_a_partial_verdict():
    test = litmus.parse((SUITE / "IRIW.litmus").read_text(), "IRIW.litmus")
    with pytest.raises(FfaemuError, match="more than 50 executions"):
        litmus.run(test, limit=50)


SPIN = """AArch64 MP+dmb.st+spin
"a reader that waits for the flag, then reads the data"
Cycle=Rfe DMB.STdWW Rfe PodRR
{ 0:X1=x; 0:X3=y; 1:X1=y; 1:X3=x; uint32_t x=0; }
 P0          | P1            ;
 MOV W0,#1   | L0:           ;
 STR W0,[X1] | LDR W0,[X1]   ;
 DMB ST      | CBZ W0,L0     ;
 MOV W2,#1   | LDR W2,[X3]   ;
 STR W2,[X3] | B L1          ;
             | NOP           ;
             | L1: NOP       ;
locations [x; y;]
exists (1:X2=0)
"""


def test_labels_loops_and_locations(tmp_path):
    # The spin loop ends only once P1 sees the flag; a control dependency does not order its
    # next load (MP+dmb.ish+ctrl, Allowed in MEMORY-MODEL.md), so the stale read is reachable.
    f = tmp_path / "spin.litmus"
    f.write_text(SPIN)
    res = litmus.run_file(f)
    assert res.observation == "Sometimes" and res.ok
    assert {dict(s)["x"] for s in res.states} == {1} and {dict(s)["y"] for s in res.states} == {1}
    assert litmus.run_file(f, "sc").observation == "Never"
