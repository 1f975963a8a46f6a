"""The prebuilt C proxies in firmware_blobs/: built from their sources, and what they show."""
from __future__ import annotations

import subprocess

import pytest
from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs

from conftest import ROOT, require_tool
from ffaemu.loader import load_elf
from ffaemu.runner import run_guest

BLOBS = {"u64": ROOT / "firmware_blobs/pkvm_proxy_u64.elf",
         "s32": ROOT / "firmware_blobs/pkvm_proxy_s32.elf"}


def test_committed_blobs_match_their_sources(tmp_path):
    """`make blobs` from the sources gives byte-identical ELFs (CI has the cross compiler)."""
    require_tool("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
    subprocess.run(["make", "-s", "blobs", f"BLOB_OUT={tmp_path}"], cwd=ROOT, check=True,
                   capture_output=True)
    for name, committed in BLOBS.items():
        rebuilt = tmp_path / committed.name
        assert rebuilt.read_bytes() == committed.read_bytes(), f"{committed.name} is stale: run make blobs"


def _function_text(image, name: str) -> list[str]:
    seg = next(s for s in image.segments if s.addr <= image.symbols[name] < s.end)
    start = image.symbols[name] - seg.addr
    cs = Cs(CS_ARCH_ARM64, CS_MODE_ARM)
    out = []
    for insn in cs.disasm(seg.data[start:start + 0x100], image.symbols[name]):
        out.append(f"{insn.mnemonic} {insn.op_str}")
        if insn.mnemonic == "ret":
            break
    return out


@pytest.mark.parametrize("variant, compare", [("u64", "cmn x0, #1"), ("s32", "cmn w0, #1")])
def test_compiler_emits_the_width_of_the_check(variant, compare):
    text = _function_text(load_elf(BLOBS[variant]), "hyp_ffa_init")
    assert compare in text
    other = "cmn w0, #1" if variant == "u64" else "cmn x0, #1"
    assert other not in text


@pytest.mark.parametrize("variant, monitor, refuses", [
    ("u64", "monitor_ns_zext.S", True), ("u64", "monitor_ns_sext.S", False),
    ("s32", "monitor_ns_zext.S", False), ("s32", "monitor_ns_sext.S", False)])
def test_blob_against_monitor(variant, monitor, refuses):
    out = []
    res = run_guest(ROOT / "asm/el1/ffa_deferred.S", str(ROOT / "asm/el3" / monitor),
                    str(BLOBS[variant]), console=out.append).result
    console = "".join(out)
    assert (res.reason.value, res.code) == ("semihost-exit", 0)
    assert ("pkvm(C): refusing to initialise, FFA_VERSION gave x0=00000000ffffffff" in console) is refuses
