"""The real-firmware backend: `run_on_firmware`, `ffaemu run --qemu`, `diff`, `firmware list`.

Register values come from real-firmware runs under QEMU 7.2 (the images of
../shared/real-firmware, whose README lists them too). Few QEMU runs (about 0.1-0.5 s each).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, real_firmware
from ffaemu import cli
from ffaemu.backends import images, qemu
from ffaemu.backends.qemu import run_on_firmware, split_uart0
from ffaemu.errors import FfaemuError
from ffaemu.loader import load_asm

GUEST = ROOT / "tests" / "qemu" / "version_regs.S"
DEFERRED = ROOT / "asm" / "el1" / "ffa_deferred.S"
PROXY_U64 = ROOT / "asm" / "el2" / "pkvm_proxy_u64.S"
PROXY_C_S32 = ROOT / "firmware_blobs" / "pkvm_proxy_s32.elf"
SENTINEL = 0x5A5A_5A5A_0000_0000       # version_regs.S: x2-x17 = SENTINEL + n before the SMC
FAKE_NOTICE = "NOTICE:  guest line that looks like TF-A's\n"
FAKE_ERROR = "ERROR:   a guest line with TF-A's prefix and CRLF\r\n"
SEMIHOSTED = "semihosting line\n"        # version_regs.S: SYS_WRITE0 after the UART line
GUEST_EXIT_CODE = 3                    # version_regs.S: SYS_EXIT(3)

# FFA_VERSION(1.2) as the caller sees x0-x17 (real-firmware runs of version_regs.S):
# tfa-2.14.6.bios: unknown SMC, x0 = SMC_UNK (-1, sign-extended), x1-x17 untouched;
# tfa-2.14.6-spmd-nospmc.bios: SPMD's NOT_SUPPORTED zero-extended, x1-x7 zeroed, x8-x17 kept;
# tfa-2.14.6-optee-4.10.0.bios: 1.2 (0x10002); tfa-2.12.0-optee-4.4.0.bios: 1.1 (0x10001).
KEPT_8_17 = [SENTINEL + n for n in range(8, 18)]
EXPECTED = {
    "tfa": [0xFFFF_FFFF_FFFF_FFFF, 0x10002, *[SENTINEL + n for n in range(2, 8)], *KEPT_8_17],
    "tfa-spmd:spmc=absent": [0x0000_0000_FFFF_FFFF, *[0] * 7, *KEPT_8_17],
    "optee": [0x10002, *[0] * 7, *KEPT_8_17],
    "optee:release=4.4": [0x10001, *[0] * 7, *KEPT_8_17],
}


def _regs(console: str) -> list[int]:
    return [int(line[1:], 16) for line in console.splitlines() if line.startswith("x")]


@pytest.mark.qemu
@pytest.mark.parametrize("model", list(EXPECTED))
def test_registers_after_ffa_version(model):
    res = run_on_firmware(GUEST, real_firmware(model))
    assert (res.reason, res.exit_code) == ("semihost-exit", GUEST_EXIT_CODE)
    assert res.console.startswith(FAKE_NOTICE + FAKE_ERROR + SEMIHOSTED)   # never firmware's
    assert _regs(res.console) == EXPECTED[model]
    assert res.firmware_log.startswith("NOTICE:  Booting Trusted Firmware\r\n")
    assert FAKE_NOTICE not in res.firmware_log and FAKE_ERROR not in res.firmware_log
    if model.startswith("optee"):                     # OP-TEE logs on the secure UART
        assert "I/TC: Primary CPU switching to normal world boot" in res.firmware_log
        assert "I/TC" not in res.console


BOOT = "NOTICE:  Booting Trusted Firmware\r\nNOTICE:  BL31: Built : 10:28:35\r\n"


@pytest.mark.parametrize("out, console, fw", [
    (BOOT + "hello\n", "hello\n", BOOT),
    # a runtime TF-A line in the middle of a guest line (printed during an SMC)
    (BOOT + "x0=ERROR:   QEMU System Power off: with GPIO.\r\n", "x0=",
     BOOT + "ERROR:   QEMU System Power off: with GPIO.\r\n"),
    # guest lines end in "\n" alone: never taken for TF-A's, whatever their prefix
    (BOOT + "NOTICE:  mine\nWARNING: mine too\n", "NOTICE:  mine\nWARNING: mine too\n", BOOT),
    # a boot log that differs from the probe's: its leading TF-A lines are firmware's
    ("NOTICE:  other\r\nguest\n", "guest\n", "NOTICE:  other\r\n"),
])
def test_split_uart0(out, console, fw):
    assert split_uart0(out, BOOT) == (console, fw)


def test_runtime_lines_come_from_the_images_format_strings():
    """A CRLF line with TF-A's prefix is firmware's only if one of the image's tf_log() format
    strings (marker byte, text, "\\n", NUL; include/common/debug.h) can print it."""
    image = b"\x00\x0aQEMU System Power off: with GPIO.\n\x00\x14BL31: %s\n\x00\x1eBad %d%%\n\x00"
    known = qemu.log_formats(image)
    out = (BOOT + "a\nERROR:   mine\r\nNOTICE:  BL31: v2.14.6\r\nWARNING: Bad 7%\r\n"
           "b\nERROR:   QEMU System Power off: with GPIO.\r\n")
    assert split_uart0(out, BOOT, known) == (
        "a\nERROR:   mine\r\nb\n",
        BOOT + "NOTICE:  BL31: v2.14.6\r\nWARNING: Bad 7%\r\nERROR:   QEMU System Power off: with GPIO.\r\n")


@pytest.mark.qemu
def test_el2_images_run_at_ns_el2():
    """The EL2 proxies (assembly and C) own NS-EL2 on real firmware: the assembly one prints
    its boot line and refuses pKVM init on the SPMD's zero-extended NOT_SUPPORTED (bug 1); the
    C s32 one reads w0 = -1 as "no FF-A" (real-firmware run, tfa-2.14.6-spmd-nospmc.bios)."""
    fw = real_firmware("tfa-spmd:spmc=absent")
    u64 = run_on_firmware(DEFERRED, fw, el2=PROXY_U64)
    assert u64.console.splitlines()[:2] == [
        "pkvm(asm): booting the host at EL1",
        "pkvm(asm): refusing to initialise, FFA_VERSION gave x0=00000000ffffffff"]
    s32 = run_on_firmware(DEFERRED, fw, el2=PROXY_C_S32)
    assert s32.console.splitlines()[0] == "pkvm(C): no FF-A in firmware, continuing without the proxy"
    assert u64.reason == s32.reason == "system-off"


def _main(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.qemu
def test_run_qemu_json_contract(capsys):
    real_firmware("tfa")
    code, out, err = _main(capsys, "run", GUEST, "--qemu", "--el3", "tfa", "--json")
    doc = json.loads(out)
    assert code == 1                 # SYS_EXIT(3) is not a success, as for `ffaemu run`
    assert doc["exit"]["reason"] == "semihost-exit" and doc["exit"]["code"] == GUEST_EXIT_CODE
    assert _regs(doc["console"]) == EXPECTED["tfa"]
    assert "Booting Trusted Firmware" in doc["firmware_log"]
    assert {k: doc[k] for k in ("el", "regs", "exceptions", "calls")} == dict.fromkeys(
        ("el", "regs", "exceptions", "calls"))
    assert err == ""


@pytest.mark.qemu
def test_run_qemu_system_off_exits_0(capsys):
    real_firmware("tfa")
    code, out, err = _main(capsys, "run", ROOT / "asm" / "el1" / "psci_off.S", "--qemu", "--el3", "tfa")
    assert (code, out) == (0, "P1\n")          # PSCI 1.1 from TF-A lts-v2.14.6 (real-firmware run)
    assert "[ffaemu] system-off" in err and "[firmware] NOTICE:  Booting Trusted Firmware" in err


@pytest.mark.qemu
def test_diff_identical_and_different(capsys):
    real_firmware("tfa-spmd:spmc=absent")
    args = ("diff", DEFERRED, "--el3", "tfa-spmd:spmc=absent", "--el2", PROXY_U64)
    code, out, _ = _main(capsys, *args)
    assert code == 0 and out.startswith("identical: 6 console lines")
    # sign-extending the SPMD's NOT_SUPPORTED invents a result real TF-A never gives
    code, out, _ = _main(capsys, *args, "--fw-upper", "sign")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("consoles differ at line 2 (model --el3 tfa-spmd:spmc=absent vs "
                               "real tfa-2.14.6-spmd-nospmc.bios)")
    assert "  model: pkvm(asm): no FF-A in firmware, continuing without the proxy" in lines
    assert "  real:  pkvm(asm): refusing to initialise, FFA_VERSION gave x0=00000000ffffffff" in lines
    assert any(line.startswith(">   2 pkvm(asm): no FF-A") for line in lines)
    assert "the last call before it (EL2 -> EL3 tfa-spmd): FFA_VERSION(1.2)" in lines


PREBUILT_TFA_SHA256 = "a0863196949c68479d43c260069d50412121e632d0258840dbf453883cb35384"  # SHA256SUMS


def test_firmware_list(capsys, tmp_path, monkeypatch):
    """Found (prebuilt or an own build), checksum wrong, missing; the model each image grounds."""
    found = real_firmware("tfa")
    shutil.copy(found, tmp_path)
    digest = hashlib.sha256(found.read_bytes()).hexdigest()
    if digest == PREBUILT_TFA_SHA256:
        status = "a0863196949c6847... matches the prebuilt image (SHA256SUMS)"
    else:                                   # an own build (`ffaemu firmware build`)
        status = (f"{digest[:16]}... differs from the prebuilt image; matches "
                  f"{tmp_path}/firmware-manifest.json (an own build: TF-A and OP-TEE embed the build time)")
    (tmp_path / "tfa-2.14.6-spmd-nospmc.bios").write_bytes(b"not it")
    (tmp_path / "tfa-2.14.6-optee-4.10.0.bios").write_bytes(b"built")
    built = {"tfa-2.14.6.bios": digest,
             "tfa-2.14.6-optee-4.10.0.bios": hashlib.sha256(b"built").hexdigest()}
    (tmp_path / "firmware-manifest.json").write_text(json.dumps(
        {"images": [{"file": f, "sha256": d} for f, d in built.items()]}))
    monkeypatch.setenv(images.ENV_VAR, str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, _ = _main(capsys, "firmware", "list")
    assert code == 0
    assert out.startswith(f"search path: $FFAEMU_FIRMWARE={tmp_path}, then {tmp_path}/cache/ffaemu/firmware\n")
    assert f"tfa                    tfa-2.14.6.bios\n  found: {tmp_path}/tfa-2.14.6.bios\n" \
           f"  sha256: {status}\n  TF-A lts-v2.14.6 (8fe2e465a435)\n" in out
    assert "  sha256: " + hashlib.sha256(b"not it").hexdigest()[:16] + "... MISMATCH" in out
    assert "  TF-A lts-v2.14.6 (8fe2e465a435), OP-TEE 4.10.0 (753afbbee168)\n" in out
    assert "optee:release=4.4      tfa-2.12.0-optee-4.4.0.bios\n  not found\n" in out


def test_missing_image_is_one_line_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(images.ENV_VAR, str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, err = _main(capsys, "run", GUEST, "--qemu", "--el3", "optee")
    assert code == 2 and out == ""
    assert err == (f"ffaemu: error: tfa-2.14.6-optee-4.10.0.bios (for --el3 optee) not found in "
                   f"{tmp_path} or {tmp_path}/cache/ffaemu/firmware: export FFAEMU_FIRMWARE=DIR "
                   "or run `ffaemu firmware build`\n")


@pytest.mark.parametrize("argv, message", [
    (["--el3", "tfa-spmd"], "no real-firmware image grounds model 'tfa-spmd'"),
    (["--el3", "tfa", "--el2", "pkvm"], "--el2 pkvm: real firmware runs EL2 images"),
    (["--el3", "tfa", "--trace"], "--trace is not available with --qemu"),
    (["--el3", "tfa", "--fw-upper", "sign"], "--fw-upper is not available with --qemu"),
    (["--el3", "tfa", "--gdb"], "--gdb is not available with --qemu"),
    ([], "--qemu needs --el3 MODEL"),
    (["--el3", "tfa", "--firmware", "x.bios"], "give --qemu --el3 MODEL or --firmware FILE, not both"),
])
def test_refused_options(capsys, argv, message):
    code, out, err = _main(capsys, "run", GUEST, "--qemu", *argv)
    assert code == 2 and err.startswith("ffaemu: error: " + message) and err.count("\n") == 1


def test_timeout_needs_qemu(capsys):
    code, out, err = _main(capsys, "run", GUEST, "--el3", "tfa", "--timeout", "5")
    assert (code, out) == (2, "")
    assert err == "ffaemu: error: --timeout applies with --qemu/--firmware; Unicorn runs stop at --max-insns\n"


@pytest.mark.qemu
def test_bad_firmware_files(capsys, tmp_path):
    real_firmware("tfa")
    other = tmp_path / "other.bin"
    other.write_bytes(load_asm(ROOT / "tests" / "qemu" / "not_mailbox_bios.S", 0).segments[0].data)
    code, _, err = _main(capsys, "run", GUEST, "--firmware", other)
    assert code == 2 and "not a mailbox-protocol firmware image" in err and "some other firmware" in err
    zeros = tmp_path / "zeros.bin"                # executes nothing useful and prints nothing
    zeros.write_bytes(bytes(4096))
    with pytest.raises(FfaemuError, match="not a mailbox-protocol firmware image .* printed nothing within 1 s"):
        run_on_firmware(GUEST, zeros, timeout=1.0)
    assert "zeros.bin" not in subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                             text=True).stdout     # QEMU was killed


def test_qemu_missing(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FfaemuError, match="qemu-system-aarch64 not found on PATH"):
        run_on_firmware(GUEST, ROOT / "README.md")


def test_guest_outside_the_guest_window(tmp_path):
    image = load_asm(GUEST, 0x6000_0000)              # on top of BL33
    with pytest.raises(FfaemuError, match="outside 0x40100000-0x4fffffff"):
        qemu._as_image(image, 0)


@pytest.mark.parametrize("argv, message", [
    (["--el3", "tfa", "--el2", "pkvm"], "--el2 pkvm: real firmware runs EL2 images"),
    (["--el3", "tfa-el3-spmc"], "no real-firmware image grounds model 'tfa-el3-spmc'"),
    (["--el3", "tfa", "--timeout", "-1"], "argument --timeout: '-1' is not a timeout"),
    (["--el3", "tfa", "--fw-upper", "wide"], "argument --fw-upper: invalid choice: 'wide'"),
])
def test_diff_bad_input(capsys, monkeypatch, tmp_path, argv, message):
    monkeypatch.setenv(images.ENV_VAR, str(tmp_path))       # an image for `tfa` is there
    (tmp_path / "tfa-2.14.6.bios").write_bytes(b"unused: refused before QEMU runs")
    code, out, err = _main(capsys, "diff", GUEST, *argv)
    assert (code, out) == (2, "") and err.startswith("ffaemu: error: " + message)
    assert err.count("\n") == 1
