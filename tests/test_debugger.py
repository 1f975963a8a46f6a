"""`ffaemu debug`, driven by scripts as a user would drive it."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT
from ffaemu.cli import main

GUEST = str(ROOT / "asm/el1/ffa_deferred.S")
PROXY = str(ROOT / "asm/el2/pkvm_proxy_s32.S")


def debug(capsys, tmp_path, commands, *extra):
    script = tmp_path / "cmds"
    script.write_text("\n".join(commands) + "\n")
    status = main(["debug", GUEST, "--el3", "tfa-spmd", "--el2", PROXY, "--commands", str(script), *extra])
    return status, capsys.readouterr().out.splitlines()


def after(lines, command, nth=0):
    """The output lines of the `nth` `command` (up to the next prompt)."""
    i = [n for n, ln in enumerate(lines) if ln == f"(ffaemu) {command}"][nth]
    j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("(ffaemu) ")), len(lines))
    return lines[i + 1:j]


def test_scripted_session_through_a_trapped_smc(capsys, tmp_path):
    status, lines = debug(capsys, tmp_path, [
        "break smc",
        "continue",          # the proxy's own SMC to EL3 during the init hypercall
        "continue",          # the guest's FFA_VERSION at EL1
        "regs",
        "step",              # the SMC traps to EL2 (TSC): stop at the EL2 handler's first instruction
        "sysregs",
        "step 9",            # through the proxy to its `smc #0`
        "where",
        "step",              # into the Python EL3 model and back
        "ffa",
        "delete",
        "continue",
    ])
    assert status == 0
    assert lines[1].startswith("stopped (start): EL1 0x40100000 <_start>")     # the guest's entry, at EL1
    assert after(lines, "continue", 0)[-1] == ("stopped (breakpoint 1 (smc) at 0x4e0000dc <pkvm_init+0x14>): "
                                               "EL2 0x4e0000dc <pkvm_init+0x14>: smc #0")
    assert after(lines, "continue", 1)[-1] == ("stopped (breakpoint 1 (smc) at 0x40104044 <main+0x44>): "
                                               "EL1 0x40104044 <main+0x44>: smc #0")
    regs = after(lines, "regs")
    assert regs[0] == "x0  0x0000000084000063   w0  0x84000063   [63:32] zero"
    assert regs[1] == "x1  0x0000000000010002   w1  0x00010002   [63:32] zero"
    assert regs[-1].startswith("pstate 0x") and "EL1h" in regs[-1]
    step = after(lines, "step")
    # ARCH.md (QEMU): a trapped `smc #0` from EL1h with DAIF masked: ESR_EL2 0x5e000000,
    # ELR_EL2 = the SMC itself, SPSR_EL2 = 0x3c5 plus the caller's NZCV.
    assert step[0].startswith("SMC #0 at EL1 -> EL2 (HCR_EL2.TSC) ESR_EL2=0x5e000000 ELR_EL2=0x40104044")
    assert "SPSR_EL2=0x" in step[0] and step[0].endswith("(EL1h)")
    assert step[-1].startswith("stopped (step): EL2 0x4e000c00 <el2_vectors+0x400>: b #")   # VBAR_EL2+0x400
    sysregs = after(lines, "sysregs")
    assert "ESR_EL2  = 0x5e000000 (SMC64 imm16=0x0 IL=1)" in sysregs
    assert "ELR_EL2  = 0x40104044 <main+0x44>" in sysregs
    assert "HCR_EL2 = 0x80080000 [RW=1 TSC=1 TGE=0 HCD=0 VM=0 E2H=0]" in sysregs
    assert "CurrentEL = EL2 (EL2h)" in sysregs
    where = after(lines, "where")[-1]
    assert where.startswith("EL2 0x4e000") and "pkvm_proxy.S:" in where and where.endswith("smc #0")
    into_el3 = [ln for ln in lines if ln.startswith("SMC #0 at EL2 -> EL3")]
    assert into_el3[-1].endswith("-> Python model")
    assert "  model tfa-spmd at EL3: FFA_VERSION(1.2) -> 1.3 (w0=0x10003)" in lines
    assert after(lines, "ffa") == ["EL2 -> EL3 tfa-spmd: FFA_VERSION(1.2) -> 1.3 (w0=0x10003)"]
    assert lines[-1] == "run ended: system-off: PSCI SYSTEM_OFF from EL2"


def test_next_steps_over_bl_and_finish_returns(capsys, tmp_path):
    status, lines = debug(capsys, tmp_path, ["break version_check", "info break", "continue", "step 6",
                                             "disas", "next", "break exception", "continue", "delete 2",
                                             "finish", "quit"])
    assert status == 0
    assert after(lines, "info break") == ["1: 0x4e0000e0 <version_check>"]
    bl = next(ln for ln in after(lines, "disas") if ln.startswith("=>"))
    assert ": bl #0x4e000010" in bl                                      # the call to puts
    assert after(lines, "next")[-1] == "stopped (next): EL2 0x4e0000fc <version_check+0x1c>: b #0x4e000128"
    assert after(lines, "continue", 1)[-1].startswith("stopped (exception taken to EL2): EL2 0x4e000c00")
    finish = after(lines, "finish")[-1]
    assert finish.startswith("stopped (returned below EL2): EL1 0x40104048 <main+0x48>")   # after the SMC


def test_x_and_bad_commands(capsys, tmp_path):
    status, lines = debug(capsys, tmp_path, ["x/2 tx_buf", "x/1w 0x80000000", "frobnicate", "break",
                                             "break nosuchsym", "step zz", "quit"])
    assert after(lines, "x/2 tx_buf") == ["0x40101000 <tx_buf>: 0x00000000002f0000",
                                          "0x40101008 <tx_buf+0x8>: 0x0000000000000000"]
    assert after(lines, "x/1w 0x80000000") == ["cannot read 4 bytes at 0x80000000: unmapped"]
    assert after(lines, "frobnicate") == ["unknown command 'frobnicate' (try: help)"]
    assert after(lines, "break")[0].startswith("error: break needs")
    assert after(lines, "break nosuchsym") == ["error: 'nosuchsym' is neither an address nor a known symbol"]
    assert after(lines, "step zz")[0].startswith("error:")


def test_commands_from_stdin():
    proc = subprocess.run([sys.executable, "-m", "ffaemu", "debug", str(ROOT / "asm/demo/trapped_smc.S")],
                          input="where\nstep 2\ncontinue\n", capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == "stopped (start): EL3 0x40100000 <_start>: ldr x0, #0x40103218" or out[0].startswith("stopped (start): EL3 0x40100000 <_start>")
    assert "(ffaemu) where" in out and out[-1] == "run ended: semihost-exit (code 0): semihosting SYS_EXIT with code 0"


def test_break_on_hvc_and_eret(capsys, tmp_path):
    status, lines = debug(capsys, tmp_path, ["break hvc", "break eret", "continue", "continue", "step",
                                             "delete", "continue"])
    assert status == 0
    assert after(lines, "continue", 0)[-1] == \
        "stopped (breakpoint 1 (hvc) at 0x40104004 <main+0x4>): EL1 0x40104004 <main+0x4>: hvc #0"
    eret = after(lines, "continue", 1)[-1]
    assert eret.startswith("stopped (breakpoint 2 (eret) at 0x4e") and "<el2_sync_lower+" in eret
    assert eret.endswith(": eret")
    back = after(lines, "step")[-1]
    assert back == "stopped (step): EL1 0x40104008 <main+0x8>: mov x19, x0"   # ELR_EL2 after the HVC
