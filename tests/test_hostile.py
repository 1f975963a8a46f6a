"""Issue 14's reproducers, one test each: hostile input gets one line and exit 2, a
hostile guest a clean `fault` (exit 1), every run ends in bounded time, and harness
memory is the harness's. (GDB packets: test_hostile_gdb.py; loader and assembler
inputs: test_hostile_inputs.py; generated inputs: tests/fuzz/.)"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, run_call_table
from ffaemu.cli import main
from ffaemu.errors import ImageError
from ffaemu.ffa.abi import FfaError, FfaId
from ffaemu.loader import Image, Segment, load_asm, write_elf
from ffaemu.machine import MAX_MAX_INSNS, TRAP_WEIGHT, Machine

FFA_ERROR, FFA_SUCCESS = FfaId.FFA_ERROR, FfaId.FFA_SUCCESS
MASK64 = (1 << 64) - 1


def cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(err: str, *fragments: str) -> str:
    """The contract for bad input: exactly one `ffaemu: error:` line naming the problem."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ffaemu: error: "), err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def guest(tmp_path, body: str, name: str = "g.S") -> str:
    path = tmp_path / name
    path.write_text("_start:\n" + body + "\n")
    return str(path)


def run_json(capsys, *argv):
    status, out, err = cli(capsys, "run", *argv, "--json")
    return status, json.loads(out)


# Tracebacks that became one line or a clean fault --------------------------------------
def test_guest_hlt_ffa0_is_an_ordinary_undefined_instruction(capsys, tmp_path):
    # The harness's own marker, executed by a guest outside the harness vectors: an HLT
    # (UNDEFINED: halting debug is off) taken to EL1, whose VBAR_EL1 = 0 holds no code.
    status, doc = run_json(capsys, guest(tmp_path, "hlt #0xffa0"), "--el3", "tfa-spmd", "--el2", "pkvm")
    assert status == 1 and doc["exit"]["reason"] == "fault"
    assert doc["exceptions"][0] == {"from_el": 1, "to_el": 1, "class": "UNKNOWN", "esr": "0x2000000",
                                    "elr": "0x40100000", "spsr": "0x3c5"}    # EC 0, IL=1 (D17.2.37)
    assert "no exception handler" in doc["exit"]["message"]


ODD_EL3 = """
el3_sync_lower:
    ldr x16, =0x84000063        // FFA_VERSION -> 1.2
    cmp w0, w16
    b.eq version
    ldr x16, =0x84000069        // FFA_ID_GET -> SUCCESS, id 0 (the host)
    cmp w0, w16
    b.eq success
    ldr x16, =0x84000064        // FFA_FEATURES -> SUCCESS, 4 KiB buffers
    cmp w0, w16
    b.eq success
    ldr x16, =0xC4000066        // FFA_RXTX_MAP_64
    cmp w0, w16
    b.eq rxtx_map
    ldr x16, =0x84000068        // FFA_PARTITION_INFO_GET: a count pKVM cannot copy
    cmp w0, w16
    b.eq part_info
    ldr x16, =0x84000008        // PSCI SYSTEM_OFF -> semihosting exit(0)
    cmp w0, w16
    b.eq off
    mov x0, #-1
    eret
version:
    ldr x0, =0x10002
    eret
success:
    ldr x0, =0x84000061
    mov x2, #0
    eret
rxtx_map:
    {rxtx}
    eret
part_info:
    ldr x0, =0x84000061
    ldr x2, =0xffffffff         // w2: partition count
    mov x3, #24                 // w3: descriptor size (FF-A 1.1+)
    eret
off:
    mov x0, #0x18
    ldr x1, =exit_block
    hlt #0xf000
    .balign 0x800
el3_vectors:
    .space 0x400
    b el3_sync_lower
    .space 0x3fc
    .balign 8
exit_block:
    .quad 0x20026, 0
"""
PKVM_GUEST = """
    ldr x0, =0xC6000001         // pKVM init hypercall
    hvc #0
    mov x19, x0
    ldr x0, =0x84000063         // FFA_VERSION(1.2)
    ldr x1, =0x10002
    smc #0
    mov x20, x0
    ldr x0, =0xC4000066         // FFA_RXTX_MAP_64
    ldr x1, =0x40200000
    ldr x2, =0x40201000
    mov x3, #1
    smc #0
    mov x21, x0
    mov x22, x2
    ldr x0, =0x84000068         // FFA_PARTITION_INFO_GET (nil UUID, flags 0)
    mov x1, #0
    mov x2, #0
    mov x3, #0
    mov x4, #0
    mov x5, #0
    smc #0
    mov x23, x0
    mov x24, x2
    ldr x0, =0x84000008
    smc #0
"""


@pytest.mark.parametrize("rxtx, x21, x22, x23, x24", [
    # EL3 answers RXTX_MAP with an FFA_ERROR code no spec defines: ffa_map_hyp_buffers
    # passes res.a2 through as an int (Linux arch/arm64/kvm/hyp/nvhe/ffa.c).
    ("ldr x0, =0x84000060\n    ldr x2, =0x12345", FFA_ERROR, 0x12345, FFA_ERROR, FfaError.BUSY & MASK64),
    # RXTX_MAP succeeds, then PARTITION_INFO_GET's count x size exceeds pKVM's mailbox:
    # do_ffa_part_get answers FFA_RET_ABORTED (-8, sign-extended).
    ("ldr x0, =0x84000061\n    mov x2, #0", FFA_SUCCESS, 0, FFA_ERROR, FfaError.ABORTED & MASK64),
])
def test_pkvm_survives_odd_el3_answers(capsys, tmp_path, rxtx, x21, x22, x23, x24):
    el3 = tmp_path / "odd_el3.S"
    el3.write_text(ODD_EL3.replace("{rxtx}", rxtx))
    status, doc = run_json(capsys, guest(tmp_path, PKVM_GUEST), "--el3", el3, "--el2", "pkvm")
    assert (status, doc["exit"]["reason"]) == (0, "semihost-exit"), doc["exit"]
    regs = {k: int(v, 16) for k, v in doc["regs"].items()}
    assert regs["x19"] == 0 and regs["x20"] == 0x10002
    assert (regs["x21"], regs["x22"], regs["x23"], regs["x24"]) == (x21, x22, x23, x24)


@pytest.mark.parametrize("device", ["--trace-file", "stdout"])
def test_output_on_a_full_device(device):
    argv = [sys.executable, "-m", "ffaemu", "run", "asm/el1/ffa_deferred.S", "--el3", "tfa-spmd",
            "--el2", "pkvm", "--trace"]
    with open("/dev/full", "w") as full:
        if device == "stdout":
            proc = subprocess.run(argv, cwd=ROOT, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
            expected = "ffaemu: error: cannot write standard output: No space left on device"
        else:
            proc = subprocess.run(argv + ["--trace-file", "/dev/full"], cwd=ROOT, capture_output=True,
                                  text=True, timeout=60)
            expected = "ffaemu: error: /dev/full: cannot write the trace: No space left on device"
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == expected
    assert "Traceback" not in proc.stderr


def test_debugger_after_the_run_ended(capsys, tmp_path):
    cmds = tmp_path / "cmds"
    cmds.write_text("continue\nnext\nstep\nfinish\ncontinue\nregs\n")
    status, out, err = cli(capsys, "debug", guest(tmp_path, "ldr x0, =0x84000008\nsmc #0"),
                           "--el3", "tfa", "--commands", cmds)
    assert status == 0 and err == ""
    assert out.count("the run has ended (system-off); nothing to") == 4
    assert "x0  0x0000000084000008" in out


@pytest.mark.parametrize("command, message", [
    ("x/999999999 0", "error: x count must be between 1 and 4096, not 999999999"),
    ("x/4 -1", "error: address -1 is outside 0..2^64-1"),
    ("disas 0 99999999", "error: disas count must be between 1 and 4096, not 99999999"),
    ("step 0", "error: step count must be between 1 and 1099511627776, not 0"),
    ("x/1", "error: usage: x/N[w] ADDR"),
])
def test_debugger_checks_ranges_before_allocating(capsys, tmp_path, command, message):
    cmds = tmp_path / "cmds"
    cmds.write_text(command + "\n")
    status, out, _ = cli(capsys, "debug", guest(tmp_path, "nop"), "--el3", "tfa", "--commands", cmds)
    assert out.splitlines()[-1] == message


def test_command_file_is_size_checked(capsys, tmp_path):
    status, _, err = cli(capsys, "debug", guest(tmp_path, "nop"), "--el3", "tfa", "--commands", "/dev/zero")
    assert status == 2
    one_error_line(err, "/dev/zero", "a device, not a regular file")


# Bounded by default --------------------------------------------------------------------
def test_smc_loop_against_a_python_model_ends_on_the_budget(capsys, tmp_path):
    # Every instruction pair traps into Python: 10M / TRAP_WEIGHT = 10,000 traps.
    loop = "ldr x0, =0x84000063\nldr x1, =0x10002\n1: smc #0\nb 1b"
    status, doc = run_json(capsys, guest(tmp_path, loop), "--el3", "tfa-spmd", "--el2", "pkvm",
                           "--max-insns", "10000000")
    assert status == 1 and doc["exit"]["reason"] == "budget"
    assert f"{10_000_000 // TRAP_WEIGHT} exceptions and model calls handled in Python" in doc["exit"]["message"]


def test_timeout_ends_a_run(capsys, tmp_path):
    status, doc = run_json(capsys, guest(tmp_path, "b ."), "--el3", "tfa", "--timeout", "0.2",
                           "--max-insns", str(MAX_MAX_INSNS))
    assert status == 1 and doc["exit"]["reason"] == "budget"
    assert doc["exit"]["message"].startswith("time limit of 0.2 s (--timeout) reached at EL1 PC=0x40100000")


@pytest.mark.parametrize("argv, fragments", [
    (["run", "x.S", "--max-insns", "18446744073709551617"], ["--max-insns", "too large"]),
    (["run", "x.S", "--max-insns", str(MAX_MAX_INSNS + 1)], ["--max-insns must be between 1 and"]),
    (["run", "x.S", "--timeout", "0"], ["--timeout must be between 0 and 86400 seconds"]),
    (["run", "x.S", "--timeout", "nan"], ["--timeout must be between"]),
    (["run", "x.S", "--vcpus", "100000"], ["--vcpus must be between 1 and 64"]),
    (["explore", "xen-negotiation-race", "--variant", "fixed", "--bound", "99"], ["--bound must be between 0 and 4"]),
    (["run", str(ROOT / "asm/el1/psci_off.S"), "--el3", "tfa:upper=zero"], ["model option 'upper' in 'tfa:upper=zero' is set by --fw-upper"]),
    (["run", str(ROOT / "asm/el1/psci_off.S"), "--el3", "tfa:seed=1"], ["model option 'seed' in 'tfa:seed=1' is set by --seed"]),
    (["explore", "xen-negotiation-race", "--variant", "fixed", "--seed", "1", "--count", "99999999999"],
     ["--count must be between 1 and 1000000"]),
])
def test_option_ranges(capsys, argv, fragments):
    status, _, err = cli(capsys, *argv)
    assert status == 2
    one_error_line(err, *fragments)


# Harness memory --------------------------------------------------------------------------
def test_guest_overwriting_the_harness_vectors_faults(capsys, tmp_path):
    # Before: the EL1 guest zeroed the EL2 harness vector and "exception not handled"
    # became `semihost-exit 0`.
    body = "ldr x0, =0x40002800\nstr xzr, [x0]\nsvc #0"
    status, doc = run_json(capsys, guest(tmp_path, body), "--el3", "tfa", "--el2", "none")
    assert status == 1 and doc["exit"]["reason"] == "fault"
    assert doc["exit"]["message"] == (
        "EL1 PC=0x40100004 <_start+0x4> `str xzr, [x0]`: 8-byte write to harness memory "
        "0x40000000-0x400fffff (the boot stubs, trampoline and unhandled-exception vectors) at "
        "0x40002800, which guest code may not write")


def test_zeroing_the_harness_region_faults_at_its_first_byte(capsys, tmp_path):
    body = "ldr x0, =0x40000000\nldr x1, =0x40100000\n1: str xzr, [x0], #8\ncmp x0, x1\nb.ne 1b\nhvc #0"
    status, doc = run_json(capsys, guest(tmp_path, body), "--el3", "tfa-spmd", "--el2", "pkvm")
    assert status == 1 and "write to harness memory 0x40000000-0x400fffff" in doc["exit"]["message"]
    assert "at 0x40000000," in doc["exit"]["message"]


def test_harness_stacks_stay_writable(capsys, tmp_path):
    body = "stp x29, x30, [sp, #-16]!\nldp x29, x30, [sp], #16\nldr x0, =0x84000008\nsmc #0"
    status, doc = run_json(capsys, guest(tmp_path, body), "--el3", "tfa", "--el2", "pkvm")
    assert status == 0 and doc["exit"]["reason"] == "system-off"


def test_images_in_the_harness_region_are_refused(tmp_path):
    src = tmp_path / "in_harness.S"
    src.write_text("_start: nop\n")
    from ffaemu.runner import build_guest
    for base in (0x4000_0000, 0x4005_0000, 0x400F_F000):     # the whole reserved MiB
        elf = tmp_path / f"g{base:x}.elf"
        write_elf(elf, load_asm(src, base))
        with pytest.raises(ImageError, match="overlaps (the harness region|harness memory) 0x40000000-0x400fffff"):
            build_guest(elf, "tfa")


def test_overlapping_segments_and_images_are_refused(tmp_path):
    m = Machine()
    m.load(Image([Segment(0x4010_0000, bytes(0x100))], 0x4010_0000, name="first"))
    with pytest.raises(ImageError, match="overlaps image first at 0x40100000-0x401000ff"):
        m.load(Image([Segment(0x4010_0080, bytes(8))], 0x4010_0080, name="second"))
    with pytest.raises(ImageError, match="overlaps another segment of the same image"):
        m.load(Image([Segment(0x4020_0000, bytes(16)), Segment(0x4020_0008, bytes(16))], 0x4020_0000,
                     name="third"))


@pytest.mark.parametrize("el2", ["none", "pkvm"])
def test_firmware_refuses_buffers_in_harness_memory(tmp_path, el2):
    # Hafnium api_vm_configure_pages: pages the caller does not own -> INVALID_PARAMETERS.
    calls = [(0x84000063, [0x10002], "smc"),
             (0xC4000066, [0x4008_0000, 0x4008_1000, 1], "smc"),       # pKVM's own mailbox
             (0xC4000066, [0x4000_0000, 0x4000_1000, 1], "smc")]       # the boot stubs
    if el2 == "pkvm":
        calls.insert(0, (0xC6000001, [], "hvc"))                       # pKVM's init hypercall
    results, _ = run_call_table(tmp_path, "tfa-spmd", el2, calls)
    # The SPMD model zero-extends w2; pKVM refuses the host's buffers itself (sign-extended).
    invalid = FfaError.INVALID_PARAMETERS & (MASK64 if el2 == "pkvm" else 0xFFFF_FFFF)
    assert results[-2:] == [(FFA_ERROR, invalid)] * 2


# Architectural behaviour ------------------------------------------------------------------
def test_wfi_ends_the_run_clearly(capsys, tmp_path):
    status, doc = run_json(capsys, guest(tmp_path, "nop\nwfi"), "--el3", "tfa")
    assert status == 1 and doc["exit"]["reason"] == "fault"
    assert doc["exit"]["message"].startswith("EL1 PC=0x40100004 <_start+0x4> `wfi`: WFI with no interrupt")


def test_counters_are_virtual_and_reproducible(capsys, tmp_path, monkeypatch):
    body = "mrs x19, cntvct_el0\nmov x0, #100\n1: subs x0, x0, #1\nb.ne 1b\nmrs x20, cntpct_el0\n" \
           "ldr x0, =0x84000008\nsmc #0"
    path = guest(tmp_path, body)
    seen = []
    for native in ("1", "0", "1"):
        monkeypatch.setenv("FFAEMU_NATIVE", native)
        monkeypatch.setattr("ffaemu.native._state", {})
        _, doc = run_json(capsys, path, "--el3", "tfa")
        seen.append((doc["regs"]["x19"], doc["regs"]["x20"]))
    assert seen[0] == seen[1] == seen[2]
    first, second = (int(v, 16) for v in seen[0])
    # Instructions of the blocks entered: boot stubs and the guest's first block, then
    # 100 loop iterations of 2 instructions in between.
    assert first < 100 and second - first >= 200


def test_command_file_from_an_endless_pipe_is_bounded(tmp_path):
    from ffaemu.inputs import read_bounded
    from ffaemu.errors import FfaemuError
    proc = subprocess.Popen(["cat", "/dev/zero"], stdout=subprocess.PIPE)
    try:
        with pytest.raises(FfaemuError, match="pipe larger than 1 MiB"):
            read_bounded(f"/dev/fd/{proc.stdout.fileno()}", 1 << 20)
    finally:
        proc.kill()
        proc.wait()


def test_debugger_commands_on_stdin_are_size_checked():
    # `cat /dev/zero | ffaemu debug ...` used to read standard input without bound.
    proc = subprocess.run(f"head -c 20000000 /dev/zero | {sys.executable} -m ffaemu debug "
                          "asm/el1/psci_off.S --el3 tfa", shell=True, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "ffaemu: error: standard input: more than 16 MiB of debugger commands"
