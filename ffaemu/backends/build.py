"""`ffaemu firmware build`: the real-firmware images from upstream source, at pinned tags.

The recipe of /work/shared/real-firmware/build.sh, same flags: the project's BL33
(asm/bl33/bl33_mailbox.S, linked at 0x60000000), OP-TEE (PLATFORM=vexpress-qemu_armv8a,
S-EL1 SPMC) and TF-A (PLAT=qemu, SPD=spmd) for the four images of `images.IMAGES`. Each TF-A
image builds in its own BUILD_BASE under OUT instead of `git clean -fdx` in the user's tree.
A manifest (firmware-manifest.json) records commits, flags, tools and checksums.

Prerequisites (Debian 12): gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu make dtc git,
and a python3 with `cryptography` and `elftools` for OP-TEE's scripts
(apt-get install python3-cryptography python3-pyelftools); set $PYTHON3 to choose it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from ..errors import FfaemuError
from .images import (IMAGES, OPTEE_4_4_0, OPTEE_4_10_0, TFA_2_12_0, TFA_2_14_6, cache_dir,
                     sha256)

BL33_DIR = Path(__file__).resolve().parent.parent.parent / "asm" / "bl33"
BL33_SOURCE = BL33_DIR / "bl33_mailbox.S"
SPMC_MANIFEST = BL33_DIR / "qemu_spmc_optee.dts"
BL33_BASE = 0x6000_0000            # where TF-A's qemu platform loads BL33 (plat/qemu/qemu/include/platform_def.h NS_IMAGE_OFFSET)
CROSS = "aarch64-linux-gnu-"
TOOLS = {f"{CROSS}gcc": "gcc-aarch64-linux-gnu", f"{CROSS}as": "binutils-aarch64-linux-gnu",
         f"{CROSS}ld": "binutils-aarch64-linux-gnu", f"{CROSS}objcopy": "binutils-aarch64-linux-gnu",
         "dtc": "device-tree-compiler", "make": "make", "git": "git"}
MANIFEST = "firmware-manifest.json"
SYSTEM_PYTHON3 = "/usr/bin/python3"       # Debian's, where python3-pyelftools installs

OPTEE_FLAGS = ("PLATFORM=vexpress-qemu_armv8a", "CFG_ARM64_core=y", "CFG_ARM32_core=n",
               f"CROSS_COMPILE64={CROSS}", "CROSS_COMPILE32=arm-linux-gnueabihf-",
               "CFG_CORE_SEL1_SPMC=y", "CFG_TEE_CORE_LOG_LEVEL=2", "CFG_USER_TA_TARGETS=ta_arm64")
TFA_FLAGS = ("PLAT=qemu", f"CROSS_COMPILE={CROSS}")


def _optee_tfa_flags(optee_core: Path) -> tuple[str, ...]:
    """TF-A options for SPMD + OP-TEE at S-EL1 (build.sh `with_optee`)."""
    return ("SPD=spmd", "SPMD_SPM_AT_SEL2=0", "SPMC_OPTEE=1",
            f"QEMU_TOS_FW_CONFIG_DTS={SPMC_MANIFEST}", f"BL32={optee_core / 'tee-header_v2.bin'}",
            f"BL32_EXTRA1={optee_core / 'tee-pager_v2.bin'}",
            f"BL32_EXTRA2={optee_core / 'tee-pageable_v2.bin'}", "BL32_RAM_LOCATION=tdram")


def find_python3() -> str:
    """A python3 that has what OP-TEE's build scripts import."""
    candidates = [os.environ.get("PYTHON3"), shutil.which("python3"), SYSTEM_PYTHON3]
    for py in filter(None, candidates):
        if subprocess.run([py, "-c", "import cryptography, elftools"], capture_output=True).returncode == 0:
            return py
    raise FfaemuError("no python3 with `cryptography` and `elftools` (pyelftools) for OP-TEE's "
                      "scripts: apt-get install python3-cryptography python3-pyelftools, or set PYTHON3")


def check_tools() -> None:
    missing = [f"{tool} (apt-get install {pkg})" for tool, pkg in TOOLS.items() if not shutil.which(tool)]
    if missing:
        raise FfaemuError("missing build tools: " + ", ".join(missing))
    for path in (BL33_SOURCE, SPMC_MANIFEST):
        if not path.is_file():
            raise FfaemuError(f"{path}: missing (the recipe needs the project's asm/bl33/)")


def _git(src: Path, *args: str) -> str:
    res = subprocess.run(["git", "-C", str(src), *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise FfaemuError(f"git -C {src} {' '.join(args)}: {res.stderr.strip().splitlines()[-1:] or '?'}")
    return res.stdout.strip()


def check_source(src: Path, what: str, tags: list[tuple[str, str]]) -> None:
    if not (src / ".git").exists():
        raise FfaemuError(f"{src}: not a git checkout of {what}")
    if _git(src, "status", "--porcelain", "--untracked-files=no"):
        raise FfaemuError(f"{src}: has uncommitted changes; the recipe checks out pinned tags")
    for tag, commit in tags:
        try:
            full = _git(src, "rev-parse", f"{tag}^{{commit}}")
        except FfaemuError:
            raise FfaemuError(f"{src}: tag {tag} missing (git -C {src} fetch --tags)") from None
        if not full.startswith(commit):
            raise FfaemuError(f"{src}: tag {tag} is {full[:12]}, expected {commit}")


def _python_path(out: Path, python3: str) -> dict[str, str]:
    """An environment whose `python3` is `python3`: OP-TEE 4.4.0 runs some scripts through
    their `#!/usr/bin/env python3` line (core/arch/arm/kernel/link.mk, gen_tee_bin.py)."""
    shim = out / "python-shim"
    shim.mkdir(exist_ok=True)
    link = shim / "python3"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(python3)
    return {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}


def _make(directory: Path, flags: list[str], log: Path, say: Callable[[str], None],
          env: dict[str, str] | None = None) -> None:
    cmd = ["make", "-C", str(directory), f"-j{os.cpu_count() or 1}", *flags]
    say("  " + " ".join(cmd))
    with open(log, "a") as out:
        res = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    if res.returncode != 0:
        raise FfaemuError(f"make in {directory} failed (exit {res.returncode}); see {log}")


def build_bl33(out: Path) -> Path:
    obj, elf, binary = out / "bl33.o", out / "bl33.elf", out / "bl33.bin"
    for cmd in ([f"{CROSS}as", str(BL33_SOURCE), "-o", str(obj)],
                [f"{CROSS}ld", f"-Ttext={BL33_BASE:#x}", str(obj), "-o", str(elf)],
                [f"{CROSS}objcopy", "-O", "binary", str(elf), str(binary)]):
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise FfaemuError(f"{cmd[0]} failed: {res.stderr.strip()}")
    return binary


def build(tfa_src: Path, optee_src: Path, out: Path | None = None,
          say: Callable[[str], None] = print) -> Path:
    """Build the four images into `out` (default: the per-user cache); returns the manifest."""
    out = (out or cache_dir()).resolve()
    tfa_src, optee_src = tfa_src.resolve(), optee_src.resolve()
    check_tools()
    python3 = find_python3()
    check_source(tfa_src, "TF-A", [TFA_2_14_6, TFA_2_12_0])
    check_source(optee_src, "OP-TEE", [OPTEE_4_10_0, OPTEE_4_4_0])
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FfaemuError(f"{out}: cannot create the output directory: {e.strerror}") from None
    if not os.access(out, os.W_OK):
        raise FfaemuError(f"{out}: the output directory is not writable")
    log = out / "build.log"
    log.write_text("")
    bl33 = build_bl33(out)
    say(f"bl33: {bl33} from {BL33_SOURCE}")
    manifest = {"bl33": {"source": str(BL33_SOURCE), "sha256": sha256(bl33)},
                "tools": _tool_versions(python3), "images": []}
    env = _python_path(out, python3)
    optee_built: dict[str, Path] = {}
    for tag, commit in (OPTEE_4_10_0, OPTEE_4_4_0):
        _git(optee_src, "checkout", "-q", tag)
        flags = [*OPTEE_FLAGS, f"PYTHON3={python3}", f"O={out / ('optee-' + tag)}"]
        say(f"OP-TEE {tag}:")
        _make(optee_src, flags, log, say, env)
        optee_built[tag] = out / f"optee-{tag}" / "core"
    for image in IMAGES:
        (tfa_tag, _), optee = image.tfa, image.optee
        flags = [*TFA_FLAGS, f"BL33={bl33}", *image.make_flags]
        if optee:
            flags += _optee_tfa_flags(optee_built[optee[0]])
        build_base = out / f"tfa-build-{image.file.removesuffix('.bios')}"
        _git(tfa_src, "checkout", "-q", tfa_tag)
        say(f"{image.file}:")
        _make(tfa_src, [*flags, f"BUILD_BASE={build_base}", "all", "fip"], log, say, env)
        dest, built = out / image.file, build_base / "qemu" / "release" / "qemu_fw.bios"
        if not built.is_file():
            raise FfaemuError(f"make for {image.file} produced no {built}; see {log}")
        shutil.copyfile(built, dest)
        manifest["images"].append({
            "file": image.file, "model": image.model, "sha256": sha256(dest),
            "prebuilt_sha256": image.sha256,
            "tfa": {"tag": tfa_tag, "commit": _git(tfa_src, "rev-parse", "HEAD"),
                    "flags": [*flags, "all", "fip"]},
            "optee": None if not optee else {
                "tag": optee[0], "commit": _git(optee_src, "rev-parse", f"{optee[0]}^{{commit}}"),
                "flags": list(OPTEE_FLAGS)},
        })
    path = out / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    say(f"manifest: {path}")
    return path


def _tool_versions(python3: str) -> dict[str, str]:
    def first_line(cmd):
        res = subprocess.run(cmd, capture_output=True, text=True)
        return (res.stdout or res.stderr).strip().splitlines()[0] if res.returncode == 0 else "?"
    return {"gcc": first_line([f"{CROSS}gcc", "--version"]), "dtc": first_line(["dtc", "--version"]),
            "make": first_line(["make", "--version"]), "python3": python3}
