"""Real-firmware images for QEMU `virt`: which file grounds which model, and where to find it.

The table is data from /work/shared/real-firmware (README.md for releases and commits,
SHA256SUMS for the checksums; `ffaemu firmware build` writes the same file names).
Search order: `$FFAEMU_FIRMWARE` (a directory), then the per-user cache
(`$XDG_CACHE_HOME/ffaemu/firmware`, else `~/.cache/ffaemu/firmware`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import FfaemuError
from ..models import parse_spec

ENV_VAR = "FFAEMU_FIRMWARE"


@dataclass(frozen=True)
class FirmwareImage:
    file: str
    model: str                 # the model spec it grounds, canonical form
    tfa: tuple[str, str]       # TF-A (tag, commit)
    optee: tuple[str, str] | None    # OP-TEE (tag, commit), or None
    sha256: str                # of the prebuilt image in /work/shared/real-firmware
    make_flags: tuple[str, ...] = ()     # TF-A make options beyond PLAT/CROSS_COMPILE/BL33


TFA_2_14_6 = ("lts-v2.14.6", "8fe2e465a435")
TFA_2_12_0 = ("v2.12.0", "4ec2948fe3f6")
OPTEE_4_10_0 = ("4.10.0", "753afbbee168")
OPTEE_4_4_0 = ("4.4.0", "8f645256efc0")

IMAGES: tuple[FirmwareImage, ...] = (
    FirmwareImage("tfa-2.14.6.bios", "tfa", TFA_2_14_6, None,
                  "a0863196949c68479d43c260069d50412121e632d0258840dbf453883cb35384"),
    FirmwareImage("tfa-2.14.6-spmd-nospmc.bios", "tfa-spmd:spmc=absent", TFA_2_14_6, None,
                  "41ca6aae542634f5b39c4bd27997f3f3ce9babf9c358f48b86ec397f649eed41",
                  ("SPD=spmd", "SPMD_SPM_AT_SEL2=0", "NEED_BL32=no")),
    FirmwareImage("tfa-2.14.6-optee-4.10.0.bios", "optee", TFA_2_14_6, OPTEE_4_10_0,
                  "3f0eec13e53ef992cfc053e4205800344a7eba4a7455c0e2bd9f1f849db68ecb"),
    FirmwareImage("tfa-2.12.0-optee-4.4.0.bios", "optee:release=4.4", TFA_2_12_0, OPTEE_4_4_0,
                  "2d4ef4aac5128c119ea5272cd1a879b066b6f1ab3530da78ddcdb06f86c385e3"),
)


def release(pin: tuple[str, str]) -> str:
    """'lts-v2.14.6 (8fe2e465a435)'."""
    return f"{pin[0]} ({pin[1]})"

# Option values that name the same image (`optee:release=4.10.0` is the default release).
_RELEASE_ALIASES = {"4.10": None, "4.10.0": None, "4.4": "4.4", "4.4.0": "4.4"}


def canonical_model(spec: str) -> str:
    """`optee:release=4.10.0` -> `optee`; `optee:release=4.4.0` -> `optee:release=4.4`."""
    name, options = parse_spec(spec)
    if "release" in options:
        if options["release"] not in _RELEASE_ALIASES:
            raise FfaemuError(f"no real-firmware image for '{spec}': release must be 4.10 or 4.4")
        release = _RELEASE_ALIASES[options.pop("release")]
        if release:
            options["release"] = release
    rest = ",".join(f"{k}={v}" for k, v in sorted(options.items()))
    return f"{name}:{rest}" if rest else name


def search_dirs() -> list[Path]:
    """Where images are looked for, in order."""
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]))
    dirs.append(cache_dir())
    return dirs


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ffaemu" / "firmware"


def image_for(model_spec: str) -> FirmwareImage:
    model = canonical_model(model_spec)
    for image in IMAGES:
        if image.model == model:
            return image
    known = ", ".join(i.model for i in IMAGES)
    raise FfaemuError(f"no real-firmware image grounds model '{model_spec}' (images exist for: {known})")


def find(file: str) -> Path | None:
    for d in search_dirs():
        if (d / file).is_file():
            return d / file
    return None


def firmware_for(model_spec: str) -> Path:
    """The image file that grounds `model_spec`; a one-line error when it is not found."""
    image = image_for(model_spec)
    path = find(image.file)
    if path is None:
        where = " or ".join(str(d) for d in search_dirs())
        raise FfaemuError(f"{image.file} (for --el3 {model_spec}) not found in {where}: "
                          f"export {ENV_VAR}=DIR or run `ffaemu firmware build`")
    return path


def sha256(path: Path) -> str:
    import hashlib                  # only `firmware list` and builds checksum images
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checksum_status(path: Path, image: FirmwareImage) -> str:
    """Whether `path` is the prebuilt image, or an own build recorded in its directory's manifest."""
    digest = sha256(path)
    if digest == image.sha256:
        return f"{digest[:16]}... matches the prebuilt image (SHA256SUMS)"
    manifest = path.parent / "firmware-manifest.json"
    if manifest.is_file():
        import json
        try:
            built = {i["file"]: i["sha256"] for i in json.loads(manifest.read_text())["images"]}
        except (ValueError, KeyError, TypeError):
            built = {}
        if built.get(image.file) == digest:
            return (f"{digest[:16]}... differs from the prebuilt image; matches {manifest} "
                    "(an own build: TF-A and OP-TEE embed the build time)")
    return f"{digest[:16]}... MISMATCH: neither the prebuilt image nor a recorded build"
