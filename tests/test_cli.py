"""`ffaemu run` contract: JSON keys, exit reasons and statuses, bad input (one line, exit 2)."""
from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest

from conftest import ROOT
from ffaemu.cli import main
from ffaemu.loader import Image, Segment, elf_bytes

EXIT_SRC = """
_start:
    ldr x1, =0x09000000
    mov w0, #0x68               // 'h'
    strb w0, [x1]
    mov x0, #0x18               // SYS_EXIT
    ldr x1, =block
    hlt #0xf000
    .balign 8
block: .quad 0x20026, {code}
"""


def run_cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys, *argv):
    status, out, err = run_cli(capsys, *argv, "--json")
    return status, json.loads(out), err


@pytest.fixture
def exit_image(tmp_path):
    def make(code=0, name="exit.S"):
        p = tmp_path / name
        p.write_text(EXIT_SRC.format(code=code))
        return str(p)
    return make


def test_json_keys_and_semihost_exit(capsys, exit_image):
    status, doc, _ = run_json(capsys, "run", exit_image(0))
    assert status == 0
    assert set(doc) == {"exit", "console", "el", "regs", "exceptions", "calls"}
    assert doc["exit"] == {"reason": "semihost-exit", "code": 0,
                           "message": "semihosting SYS_EXIT with code 0"}
    assert doc["console"] == "h"
    assert doc["el"] == 3
    assert set(doc["regs"]) == {f"x{i}" for i in range(31)} | {"sp", "pc", "pstate"}
    assert doc["regs"]["x0"] == "0x18" and doc["regs"]["pstate"] == hex(0x400003CD)
    assert doc["exceptions"] == [] and doc["calls"] == []


def test_nonzero_semihost_exit_is_status_1(capsys, exit_image):
    status, doc, _ = run_json(capsys, "run", exit_image(7))
    assert status == 1 and doc["exit"]["code"] == 7


def test_exceptions_list_in_json(capsys):
    status, doc, _ = run_json(capsys, "run", str(ROOT / "tests/diff/images/smc_trap_el1_tsc.S"))
    assert status == 0
    assert doc["exceptions"][0] == {"from_el": 1, "to_el": 2, "class": "SMC64",
                                    "esr": "0x5e001234", "elr": doc["exceptions"][0]["elr"],
                                    "spsr": "0x3c5"}


def test_system_off_is_status_0(capsys):
    status, doc, _ = run_json(capsys, "run", str(ROOT / "asm/el1/psci_off.S"), "--el3", "tfa")
    assert status == 0
    assert doc["exit"]["reason"] == "system-off" and doc["exit"]["code"] is None
    assert doc["console"] == "P1\n"           # PSCI 1.1 reported through w0
    assert [e["to_el"] for e in doc["exceptions"]] == [3, 3]
    version, off = doc["calls"]
    assert (version["from_el"], version["to_el"], version["handler"], version["name"]) == \
        (1, 3, "tfa", "PSCI_VERSION")
    assert version["ret"][0] == "0x10001" and off["ret"] is None    # SYSTEM_OFF never returns


def test_budget(capsys, tmp_path):
    src = tmp_path / "loop.S"
    src.write_text("spin: b spin\n")
    status, doc, _ = run_json(capsys, "run", str(src), "--max-insns", "1000")
    assert status == 1
    assert doc["exit"]["reason"] == "budget"
    assert "instruction budget of 1000 exhausted" in doc["exit"]["message"]
    assert "<spin>" in doc["exit"]["message"]


def test_fault_unmapped_read_names_el_pc_insn_address(capsys, tmp_path):
    src = tmp_path / "bad.S"
    src.write_text("ldr x1, =0x80000000\nat: ldr x0, [x1]\n")
    status, doc, _ = run_json(capsys, "run", str(src))
    assert status == 1 and doc["exit"]["reason"] == "fault"
    msg = doc["exit"]["message"]
    assert "EL3" in msg and "PC=0x40100004" in msg and "ldr x0, [x1]" in msg
    assert "unmapped address 0x80000000" in msg


def test_fault_unmapped_vector(capsys, tmp_path):
    src = tmp_path / "vec.S"
    src.write_text("ldr x0, =0x80000000\nmsr vbar_el3, x0\nsvc #0\n")
    status, doc, _ = run_json(capsys, "run", str(src))
    assert doc["exit"]["reason"] == "fault"
    assert doc["exit"]["message"] == ("exception vector unmapped: SVC64 from EL3 to EL3 branched "
                                      "to VBAR_EL3+0x200 = 0x80000200")


def test_fault_vector_not_installed(capsys, tmp_path):
    """VBAR_EL3 resets to 0: flash there reads as zeros, an UNDEFINED loop on real HW."""
    src = tmp_path / "novec.S"
    src.write_text("svc #1\n")
    status, doc, _ = run_json(capsys, "run", str(src))
    assert doc["exit"]["reason"] == "fault"
    # The message names the instruction that raised it: PC, symbol (none here) and disassembly.
    assert "no exception handler: SVC64 at 0x40100000 `svc #1` taken from EL3 to EL3 vectored to 0x200" \
        in doc["exit"]["message"]


def test_fault_write_to_flash(capsys, tmp_path):
    src = tmp_path / "flash.S"
    src.write_text("mov x1, #0x1000\nstr x0, [x1]\n")
    _, doc, _ = run_json(capsys, "run", str(src))
    assert doc["exit"]["reason"] == "fault" and "read-only flash" in doc["exit"]["message"]


def test_console_streams_without_json(capsys, exit_image):
    status, out, err = run_cli(capsys, "run", exit_image(0))
    assert (status, out) == (0, "h")
    assert err.strip() == "[ffaemu] semihost-exit (code 0): semihosting SYS_EXIT with code 0"


def test_trace_prints_each_exception(capsys):
    status, out, _ = run_cli(capsys, "run", str(ROOT / "asm/demo/trapped_smc.S"), "--trace")
    assert status == 0
    lines = [ln for ln in out.splitlines() if ln.startswith("[exception]")]
    assert len(lines) == 3
    assert lines[0].startswith("[exception] SMC64 #0x0 at EL1 -> EL2 (HCR_EL2.TSC) ESR_EL2=0x5e000000")
    assert "<el1_entry+" in lines[0]
    assert lines[1].startswith("[exception] SMC64 #0x0 at EL2 -> EL3 (SMC) ESR_EL3=0x5e000000")


def test_raw_binary_and_base_entry(capsys, tmp_path):
    from ffaemu.assembler import assemble
    code = assemble(EXIT_SRC.format(code=0), 0x40200000).code
    raw = tmp_path / "img.bin"
    raw.write_bytes(code)
    status, doc, _ = run_json(capsys, "run", str(raw), "--base", "0x40200000")
    assert status == 0 and doc["console"] == "h"


def test_elf_input(capsys, tmp_path):
    from ffaemu.loader import load_asm, write_elf
    src = tmp_path / "e.S"
    src.write_text(EXIT_SRC.format(code=0))
    elf = tmp_path / "e.elf"
    write_elf(elf, load_asm(src))
    status, doc, _ = run_json(capsys, "run", str(elf), "--cpu", "max")
    assert status == 0 and doc["console"] == "h"


# --- bad input: one line on stderr, exit 2, no traceback ------------------------------

def _elf_header(machine=183, klass=2):
    image = Image([Segment(0x40100000, b"\x1f\x20\x03\xd5" * 4)], 0x40100000)
    data = bytearray(elf_bytes(image))
    data[4] = klass
    struct.pack_into("<H", data, 18, machine)
    return bytes(data)


BAD_INPUTS = {
    "not_an_elf": ("img.elf", b"hello world, not an ELF", "not an ELF file (no ELF magic)"),
    "truncated_elf": ("img.elf", _elf_header()[:100], "truncated"),
    "x86_elf": ("img.elf", _elf_header(machine=62), "ELF is for EM_X86_64 (64-bit), not AArch64"),
    "malformed_asm": ("img.S", b"nop\nnop\n  frobnicate x0, x1\n", "img.S:3: unrecognized instruction mnemonic: frobnicate x0, x1"),
    "undefined_symbol": ("img.S", b"nop\nb nowhere\n", "img.S:2: undefined symbol 'nowhere'"),
    "empty_raw": ("img.bin", b"", "empty image"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_image(case, capsys, tmp_path):
    name, data, expected = BAD_INPUTS[case]
    path = tmp_path / name
    path.write_bytes(data)
    status, out, err = run_cli(capsys, "run", str(path))
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("ffaemu: error: ")
    assert expected in err


@pytest.mark.parametrize("argv, expected", [
    (["--cpu", "m1"], "argument --cpu: invalid choice: 'm1' (choose from 'a72', 'max')"),
    (["--max-insns", "lots"], "argument --max-insns: 'lots' is not a number"),
    (["--base", "0xZZ"], "argument --base: '0xZZ' is not an address"),
    (["--base", "0x7000000000000"], "outside the 48-bit physical space"),
    (["--el3", "nosuchfw"], "unknown firmware model 'nosuchfw' (valid: optee, tfa, tfa-el3-spmc, tfa-spmd)"),
    (["--el3", "tfa", "--el2", "kvm"], "unknown hypervisor model 'kvm' (valid: none, pkvm"),
    (["--el3", "tfa:x=1"], "firmware model 'tfa' has no option 'x' (valid: smc-unk)"),
    (["--el3", "tfa:junk"], "model option 'junk' in 'tfa:junk' is not key=value"),
    (["--el2", "none"], "--el2/--vms/--vcpus need --el3"),
])
def test_bad_options(argv, expected, capsys, exit_image):
    status, out, err = run_cli(capsys, "run", exit_image(0), *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and expected in err


def test_image_that_does_not_fit(capsys, exit_image):
    status, _, err = run_cli(capsys, "run", exit_image(0), "--base", "0x60000000")
    assert status == 2
    assert "segment 0x60000000-" in err and "does not fit the memory map" in err


def test_missing_file(capsys, tmp_path):
    status, _, err = run_cli(capsys, "run", str(tmp_path / "nope.elf"))
    assert status == 2 and "nope.elf: no such file" in err


def test_subprocess_has_no_traceback(tmp_path):
    """The installed entry point, as a user runs it: one line, status 2."""
    bad = tmp_path / "bad.S"
    bad.write_text("mov x0, #0x84000063\n")
    proc = subprocess.run([sys.executable, "-m", "ffaemu", "run", str(bad)], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    # keystone cannot encode it; by default LLVM then reports why (a MOV immediate must be a
    # 16-bit chunk or a bitmask immediate: Arm ARM C6.2, MOV (wide immediate, bitmask immediate)).
    assert proc.stderr == (f"ffaemu: error: {bad}:1: expected compatible register or logical "
                           "immediate: mov x0, #0x84000063\n")


def test_trace_one_line_per_hop(capsys):
    status, out, _ = run_cli(capsys, "run", str(ROOT / "asm/el1/ffa_deferred.S"), "--el3",
                             "tfa-spmd:spmc=absent", "--el2", "pkvm:version-check=u64", "--trace")
    assert status == 0
    lines = out.splitlines()
    i = next(n for n, ln in enumerate(lines) if "PKVM_INIT()" in ln)
    assert lines[i].startswith("EL1 -> EL2 pkvm") and "hvc #0x0 at" in lines[i]
    assert lines[i + 1].split() == ["EL2", "->", "EL3", "tfa-spmd", "FFA_VERSION(1.2)"]
    assert lines[i + 2].split(None, 3)[3] == "NOT_SUPPORTED (w0=0xffffffff, x0 zero-extended)"
    assert lines[i + 3].split(None, 3)[3] == "x0=-95 (0xffffffffffffffa1)"


def test_json_calls(capsys):
    status, doc, _ = run_json(capsys, "run", str(ROOT / "asm/el1/ffa_deferred.S"), "--el3",
                              "tfa-el3-spmc", "--el2", "pkvm", "--fw-upper", "sign")
    assert status == 0
    version = next(c for c in doc["calls"] if c["name"] == "FFA_VERSION" and c["from_el"] == 1)
    assert set(version) == {"from_el", "to_el", "handler", "fid", "name", "args", "ret"}
    assert (version["to_el"], version["handler"], version["fid"]) == (2, "pkvm", "0x84000063")
    # A sign-extended FFA_SUCCESS fails pKVM's 64-bit `res.a0 != FFA_SUCCESS` in
    # hyp_ffa_post_init (Linux v6.18 ffa.c): the host gets NOT_SUPPORTED as a 64-bit -1.
    assert version["args"][:2] == ["0x84000063", "0x10002"] and version["ret"][0] == "0xffffffffffffffff"
    inner = [c for c in doc["calls"] if c["from_el"] == 2 and c["handler"] == "tfa-el3-spmc"]
    assert inner and all(len(c["ret"]) == 8 for c in inner if c["name"] != "PSCI_SYSTEM_OFF")
    assert [c["ret"] for c in inner if c["name"] == "PSCI_SYSTEM_OFF"] == [None]   # never returns
