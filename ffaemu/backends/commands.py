"""CLI for the real-firmware backend: `run --qemu|--firmware`, `diff`, `firmware list|build`.

Kept out of ffaemu/cli.py, which only adds the options and dispatches here.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from typing import TYPE_CHECKING

from ..errors import FfaemuError
from ..ffa.conv import UpperPolicy
from . import images

if TYPE_CHECKING:
    from .qemu import QemuResult


def is_image_spec(spec: str) -> bool:
    from ..runner import is_image_spec as spec_names_image     # imported when used: see cli.py
    return spec_names_image(spec)


def run_on_firmware(*args, **kw):
    from .qemu import run_on_firmware as run
    return run(*args, **kw)

EXIT_OK, EXIT_DIFFERENT, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_TIMEOUT = 10.0       # seconds; a real-firmware run takes 0.1-0.5 s on QEMU 7.2
# `run` options that only the Unicorn machine has: (attribute, flag, value meaning "not given").
UNICORN_ONLY = (("trace", "--trace", None), ("trace_file", "--trace-file", None),
                ("gdb", "--gdb", None), ("fw_upper", "--fw-upper", "real"), ("seed", "--seed", 0),
                ("vms", "--vms", 1), ("vcpus", "--vcpus", 1), ("base", "--base", None),
                ("entry", "--entry", None), ("cpu", "--cpu", "a72"))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"'{text}' is not a timeout in seconds (0-3600)")
    return value


def add_run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument("--qemu", action="store_true", help="run GUEST on the real-firmware image "
                     "that grounds --el3 MODEL, under qemu-system-aarch64")
    run.add_argument("--firmware", metavar="FILE", help="run GUEST under QEMU on this image "
                     "(any image following the real-firmware mailbox protocol)")


def add_commands(sub) -> None:
    diff = sub.add_parser("diff", help="run GUEST on the model and on real firmware; show the "
                          "first place where the consoles differ")
    diff.add_argument("image", metavar="GUEST", help="an EL1 guest: .S, .c or ELF")
    diff.add_argument("--el3", required=True, metavar="MODEL",
                      help="the firmware model to check (tfa, tfa-spmd:spmc=absent, optee, "
                      "optee:release=4.4); the real side runs the image that grounds it")
    diff.add_argument("--el2", metavar="IMAGE", help="an EL2 image (.S/ELF) run on both sides")
    diff.add_argument("--firmware", metavar="FILE", help="the real side's image (default: the "
                      "one that grounds MODEL)")
    diff.add_argument("--fw-upper", choices=[p.value for p in UpperPolicy], default="real",
                      help="the model's --fw-upper policy (real firmware does what it does)")
    diff.add_argument("--seed", type=int, default=0, help="the model's seed for --fw-upper garbage")
    diff.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="S",
                      help=f"kill QEMU after S seconds (default {DEFAULT_TIMEOUT:g})")
    fw = sub.add_parser("firmware", help="real-firmware images: list them, build them")
    fw_sub = fw.add_subparsers(dest="firmware_command", required=True, parser_class=sub._parser_class)
    fw_sub.add_parser("list", help="which images were found, where, and which model each grounds")
    build = fw_sub.add_parser("build", help="build the images from TF-A and OP-TEE sources")
    build.add_argument("--tfa", required=True, metavar="SRC", help="a git clone of trusted-firmware-a")
    build.add_argument("--optee", required=True, metavar="SRC", help="a git clone of optee_os")
    build.add_argument("--out", metavar="DIR", help=f"output directory (default {images.cache_dir()})")


def wants_qemu(args) -> bool:
    """Whether `ffaemu run` goes to QEMU (`run --timeout` bounds either backend's run)."""
    return bool(getattr(args, "qemu", False) or getattr(args, "firmware", None))


def _firmware_image(args) -> Path:
    if args.firmware:
        if args.el3:
            raise FfaemuError("give --qemu --el3 MODEL or --firmware FILE, not both")
        path = Path(args.firmware)
        if not path.is_file():
            raise FfaemuError(f"{path}: no such firmware image")
        return path
    if not args.el3:
        raise FfaemuError("--qemu needs --el3 MODEL (the model whose real-firmware image to run)")
    if is_image_spec(args.el3):
        raise FfaemuError(f"--el3 {args.el3}: with --qemu, --el3 names a model; give an image "
                          "with --firmware FILE")
    return images.firmware_for(args.el3)


def _el2_image(args) -> str | None:
    if args.el2 in (None, "none"):
        return None
    if not is_image_spec(args.el2):
        raise FfaemuError(f"--el2 {args.el2}: real firmware runs EL2 images (.S or ELF), not the "
                          "Python hypervisor models")
    return args.el2


def _refuse_unicorn_options(args) -> None:
    for attr, flag, unset in UNICORN_ONLY:
        if getattr(args, attr, unset) != unset:
            raise FfaemuError(f"{flag} is not available with --qemu/--firmware (QEMU runs -cpu max "
                              "and reports only the console and the exit)")
    from ..memmap import DEFAULT_RAM_SIZE
    if args.max_insns is not None or args.ram_size != DEFAULT_RAM_SIZE:   # None: not given
        raise FfaemuError("--max-insns/--ram-size are not available with --qemu/--firmware")


def end_message(res: QemuResult, firmware: Path, timeout: float) -> str:
    how = {"semihost-exit": f"semihosting SYS_EXIT({res.exit_code})",
           "system-off": "PSCI SYSTEM_OFF (TF-A powered QEMU off)",
           "timeout": f"no SYS_EXIT or SYSTEM_OFF within {timeout:g} s, QEMU killed",
           "qemu-error": "QEMU failed (see firmware_log)"}.get(res.reason, res.reason)
    return f"{how}; real firmware {firmware.name}"


def result_json(res: QemuResult, firmware: Path, timeout: float) -> dict:
    """`ffaemu run --json`'s contract; what QEMU cannot report is null."""
    return {"exit": {"reason": res.reason, "code": res.exit_code, "message": end_message(res, firmware, timeout)},
            "console": res.console, "firmware_log": res.firmware_log,
            "el": None, "regs": None, "exceptions": None, "calls": None}


def cmd_run_qemu(args) -> int:
    _refuse_unicorn_options(args)
    firmware = _firmware_image(args)
    if args.timeout is None:                   # `run --timeout` is shared with the Unicorn backend
        args.timeout = DEFAULT_TIMEOUT
    res = run_on_firmware(args.image, firmware, el2=_el2_image(args), timeout=args.timeout)
    if args.json:
        json.dump(result_json(res, firmware, args.timeout), sys.stdout)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(res.console)
        sys.stdout.flush()
        for line in res.firmware_log.splitlines():
            print(f"[firmware] {line.rstrip()}", file=sys.stderr)
        code = "" if res.exit_code is None else f" (code {res.exit_code})"
        print(f"[ffaemu] {res.reason}{code}: {end_message(res, firmware, args.timeout)}", file=sys.stderr)
    return EXIT_OK if res.ok else EXIT_DIFFERENT


def cmd_diff(args) -> int:
    from .diff import diff_guest
    firmware = Path(args.firmware) if args.firmware else images.firmware_for(args.el3)
    if not firmware.is_file():
        raise FfaemuError(f"{firmware}: no such firmware image")
    report = diff_guest(args.image, args.el3, firmware, el2=_el2_image(args),
                        fw_upper=args.fw_upper, seed=args.seed, timeout=args.timeout)
    print(report.text)
    return EXIT_OK if report.identical else EXIT_DIFFERENT


def cmd_firmware(args) -> int:
    if args.firmware_command == "build":
        from .build import build
        build(Path(args.tfa), Path(args.optee), Path(args.out) if args.out else None,
              say=lambda s: print(s, flush=True))
        return EXIT_OK
    dirs = [str(d) for d in images.search_dirs()]
    if len(dirs) > 1:                               # the first one came from the environment
        dirs[0] = f"${images.ENV_VAR}={dirs[0]}"
    print("search path: " + ", then ".join(dirs))
    for image in images.IMAGES:
        print(f"{image.model:<22} {image.file}")
        path = images.find(image.file)
        if path is None:
            print("  not found")
            continue
        print(f"  found: {path}")
        print(f"  sha256: {images.checksum_status(path, image)}")
        print(f"  TF-A {images.release(image.tfa)}"
              + (f", OP-TEE {images.release(image.optee)}" if image.optee else ""))
    return EXIT_OK
