"""Run a guest on real firmware under qemu-system-aarch64 (the ground truth for the models).

The image follows the mailbox protocol of /work/shared/real-firmware/README.md: its BL33
reads a mailbox at 0x5fff0000 that QEMU's generic loader writes before reset (magic, target
EL, entry, x0) and enters the guest there. Output has three sources, split here:
- TF-A prints on UART0 (PL011 0x09000000) at boot and at runtime (plat/qemu/common/
  qemu_console.c registers it with CONSOLE_FLAG_BOOT | CONSOLE_FLAG_RUNTIME), each line
  "LEVEL: text" with "\n" translated to "\r\n" (drivers/arm/pl011, CONSOLE_FLAG_TRANSLATE_CRLF);
- OP-TEE (and TF-A's crash console) print on UART1, the secure PL011 at 0x09040000: QEMU
  gets a second serial (a file) for it, so none of it reaches the guest's console;
- the guest shares UART0 with TF-A (and writes semihosting output to the same stream). Its console is UART0's output minus the boot log (the
  exact bytes the image prints before BL33, measured once per image by a run without the
  mailbox) and minus TF-A's runtime lines: a level prefix, text that one of the image's own
  log format strings produces, and CRLF (which a guest's own "\n" never has). See
  `split_uart0` and `log_formats`.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import FfaemuError
from .images import firmware_for  # noqa: F401  (part of this module's API)
from ..loader import ASM_SUFFIXES, RAW_SUFFIXES, Image, elf_bytes, load_image
from ..memmap import USER_BASE

QEMU = "qemu-system-aarch64"
QEMU_ARGS = ("-M", "virt,secure=on,virtualization=on", "-cpu", "max", "-nographic",
             "-net", "none", "-m", "1057", "-monitor", "none")
# UART0 and semihosting output (SYS_WRITE0/SYS_WRITEC, which QEMU 7.2 otherwise writes to
# its stderr) share one stdout chardev, in the order the guest wrote them, as on ffaemu.
CONSOLE_ARGS = ("-chardev", "stdio,mux=on,id=con", "-serial", "chardev:con",
                "-semihosting-config", "enable=on,target=native,chardev=con")
MAILBOX = 0x5FFF_0000
MAILBOX_MAGIC = 0x3130_554D_4541_4646          # "FFAEMU01", little-endian
TARGET_EL1, TARGET_EL2 = 1, 2
EL2_BASE = 0x4E00_0000                         # where `.S` EL2 images load (ffaemu/runner.py)
NO_GUEST_LINE = "bl33: no guest in the mailbox"
# TF-A's ERROR() in plat/qemu/common/qemu_pm.c qemu_system_off(), before the GPIO power-off;
# until QEMU acts on the GPIO, TF-A runs on into panic(), so its crash console (UART1, in
# firmware_log) may show "PANIC at PC : ..." after it: a race at power-off, not a guest fault.
SYSTEM_OFF_LINE = "QEMU System Power off"
# include/common/debug.h: the prefixes tf_log() prints for each level.
TFA_LOG_LINE = re.compile(r"(?:ERROR:   |NOTICE:  |WARNING: |INFO:    |VERBOSE: )[^\r\n]*\r\n")
# include/common/debug.h LOG_MARKER_*: the first byte of each tf_log() format string in the
# image, and the prefix common/tf_log.c prints for it (plat_log_get_prefix).
LOG_MARKERS = {0x0A: "ERROR:   ", 0x14: "NOTICE:  ", 0x1E: "WARNING: ", 0x28: "INFO:    ",
               0x32: "VERBOSE: "}
_FORMAT_STRING = re.compile(rb"([\x0a\x14\x1e\x28\x32])([\x20-\x7e]*)\n\x00")
_CONVERSION = re.compile(r"%%|%[-+ 0#]*(?:\d+|\*)?(?:\.\d+)?(?:hh|h|ll|l|z|j|t)?[diouxXpsc]")
PROBE_TIMEOUT = 10.0                           # TF-A reaches BL33 in 0.1-0.4 s on QEMU 7.2
# Guests and EL2 images must stay clear of the DTB (0x40000000), the mailbox and BL33 (README).
IMAGE_RANGE = (USER_BASE, 0x5000_0000)


@dataclass
class QemuResult:
    exit_code: int | None     # semihosting SYS_EXIT code; None if QEMU ended otherwise
    reason: str               # "semihost-exit" | "timeout" | "qemu-error" | "system-off"
    console: str              # the guest's UART output only (firmware boot log removed)
    firmware_log: str         # what the firmware printed (TF-A NOTICE lines, OP-TEE...)

    @property
    def ok(self) -> bool:
        """As `ffaemu run`: SYS_EXIT(0) or PSCI SYSTEM_OFF."""
        return (self.reason == "semihost-exit" and self.exit_code == 0) or \
            self.reason == "system-off"


def qemu_path() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise FfaemuError(f"{QEMU} not found on PATH: install it (Debian: apt-get install qemu-system-arm)")
    return path


def _as_image(item: "Image | str | Path", base: int) -> Image:
    if isinstance(item, Image):
        image = item
    else:
        path = Path(item)
        image = load_image(path, base if path.suffix in ASM_SUFFIXES + RAW_SUFFIXES else None)
    low, high = IMAGE_RANGE
    for seg in image.segments:
        if seg.addr < low or seg.end > high:
            raise FfaemuError(f"{image.name}: segment {seg.addr:#x}-{seg.end:#x} is outside "
                              f"{low:#x}-{high - 1:#x}, where real-firmware guests must stay")
    return image


def _mailbox_args(target_el: int, entry: int, x0: int) -> list[str]:
    words = [MAILBOX_MAGIC, target_el, entry, x0]
    args = []
    for i, value in enumerate(words):
        args += ["-device", f"loader,addr={MAILBOX + 8 * i:#x},data={value:#x},data-len=8"]
    return args


def _run_qemu(firmware: Path, extra: list[str], timeout: float, workdir: Path
              ) -> tuple[int | None, str, str, str]:
    """(returncode or None on timeout, UART0 text, UART1 text, QEMU's stderr)."""
    uart1 = workdir / "uart1.log"
    cmd = [qemu_path(), *QEMU_ARGS, "-bios", str(firmware), *CONSOLE_ARGS,
           "-serial", f"file:{uart1}", *extra]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        out, err = _kill(proc)
        code = None
    except BaseException:                       # KeyboardInterrupt: never leave QEMU behind
        _kill(proc)
        raise
    secure = uart1.read_bytes() if uart1.exists() else b""
    return code, _text(out), _text(secure), _text(err)


def _kill(proc: subprocess.Popen) -> tuple[bytes, bytes]:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return proc.communicate()


def _text(data: bytes) -> str:
    return data.decode("latin-1")


_BOOT_LOGS: dict[tuple, str] = {}
_LOG_FORMATS: dict[tuple, re.Pattern] = {}


def _key(firmware: Path) -> tuple:
    st = firmware.stat()
    return (str(firmware.resolve()), st.st_size, st.st_mtime_ns)


def runtime_lines(firmware: Path) -> re.Pattern:
    """`log_formats` of the image (cached per file)."""
    key = _key(firmware)
    if key not in _LOG_FORMATS:
        _LOG_FORMATS[key] = log_formats(firmware.read_bytes())
    return _LOG_FORMATS[key]


def boot_log(firmware: Path, timeout: float = PROBE_TIMEOUT) -> str:
    """The exact UART0 bytes `firmware` prints before its BL33 runs (cached per file)."""
    key = _key(firmware)
    if key not in _BOOT_LOGS:
        with tempfile.TemporaryDirectory(prefix="ffaemu-qemu-") as tmp:
            code, out, _, err = _run_qemu(firmware, [], timeout, Path(tmp))
        if _qemu_error(err):
            raise FfaemuError(f"{firmware}: QEMU failed: {_qemu_error(err)}")
        at = out.find(NO_GUEST_LINE)
        if at < 0:
            what = (f"printed nothing within {timeout:g} s" if not out.strip()
                    else f"printed {out.strip().splitlines()[-1][:60]!r}")
            raise FfaemuError(f"{firmware}: not a mailbox-protocol firmware image (without a guest "
                              f"its BL33 must print '{NO_GUEST_LINE}'; it {what})")
        _BOOT_LOGS[key] = out[:at]
    return _BOOT_LOGS[key]


def log_formats(image: bytes) -> re.Pattern:
    """A pattern for the lines the image's tf_log() calls can print: each format string
    (marker byte, text, "\n", NUL) becomes its level prefix, the text with every printf
    conversion as a wildcard, and the CRLF the PL011 console driver sends."""
    alternatives = set()
    for marker, text in _FORMAT_STRING.findall(image):
        parts = _CONVERSION.split(text.decode("ascii"))
        convs = _CONVERSION.findall(text.decode("ascii"))
        body = "".join(re.escape(part) + ("%" if conv == "%%" else "[^\r\n]*?" if conv else "")
                       for part, conv in zip(parts, convs + [""]))
        alternatives.add(re.escape(LOG_MARKERS[marker[0]]) + body)
    return re.compile("(?:" + "|".join(sorted(alternatives)) + ")\r\n" if alternatives else "(?!)")


def split_uart0(out: str, boot: str, known: re.Pattern | None = None) -> tuple[str, str]:
    """(guest console, firmware lines) of UART0's output, given the image's boot log and the
    lines its log calls can print (`log_formats`; None: any TF-A-style line)."""
    if out.startswith(boot):
        firmware, rest = boot, out[len(boot):]
    else:                                       # a different boot: its leading TF-A lines
        m = re.match(f"(?:{TFA_LOG_LINE.pattern})*", out)
        firmware, rest = m.group(0), out[m.end():]
    console, runtime, at = [], [], 0
    for m in TFA_LOG_LINE.finditer(rest):
        if known is None or known.fullmatch(m.group()):
            console.append(rest[at:m.start()])
            runtime.append(m.group())
            at = m.end()
    console.append(rest[at:])
    return "".join(console), firmware + "".join(runtime)


def _qemu_error(err: str) -> str | None:
    """QEMU's first error line on stderr ("qemu-system-aarch64: ..."), warnings aside."""
    for line in err.splitlines():
        if line.startswith(QEMU) and ": warning:" not in line:
            return line.strip()
    return None


def run_on_firmware(guest: "Image | str | Path", firmware: "str | Path", *,
                    el2: "Image | str | Path | None" = None, timeout: float = 30.0) -> QemuResult:
    """Run `guest` at NS-EL1 (or under the EL2 image `el2` at NS-EL2) on a firmware image.

    `.S` guests are assembled at 0x40100000 and `.S` EL2 images at 0x4e000000, as `ffaemu run
    --el3 ... --el2 IMAGE` does; the EL2 image is entered with x0 = the guest's entry.
    """
    firmware = Path(firmware)
    if not firmware.is_file():
        raise FfaemuError(f"{firmware}: no such firmware image")
    qemu_path()
    boot = boot_log(firmware, min(timeout, PROBE_TIMEOUT))
    image = _as_image(guest, USER_BASE)
    with tempfile.TemporaryDirectory(prefix="ffaemu-qemu-") as tmp:
        tmpdir = Path(tmp)
        (tmpdir / "guest.elf").write_bytes(elf_bytes(image))
        extra = ["-device", f"loader,file={tmpdir / 'guest.elf'}"]
        if el2 is None:
            extra += _mailbox_args(TARGET_EL1, image.entry, 0)
        else:
            hyp = _as_image(el2, EL2_BASE)
            (tmpdir / "el2.elf").write_bytes(elf_bytes(hyp))
            extra += ["-device", f"loader,file={tmpdir / 'el2.elf'}"]
            extra += _mailbox_args(TARGET_EL2, hyp.entry, image.entry)
        code, out, secure, err = _run_qemu(firmware, extra, timeout, tmpdir)
    error = _qemu_error(err)
    if error and not out:
        raise FfaemuError(f"{firmware}: QEMU failed: {error}")
    console, fw_log = split_uart0(out, boot, runtime_lines(firmware))
    fw_log += secure
    if console.startswith(NO_GUEST_LINE):
        raise FfaemuError(f"{firmware}: its BL33 found no guest in the mailbox at {MAILBOX:#x}")
    if error:
        return QemuResult(None, "qemu-error", console, fw_log + error + "\n")
    if code is None:
        if not out:
            raise FfaemuError(f"{firmware}: no output within {timeout:g} s: not a mailbox-protocol "
                              f"firmware image?")
        return QemuResult(None, "timeout", console, fw_log)
    if SYSTEM_OFF_LINE in fw_log:
        return QemuResult(None, "system-off", console, fw_log)
    return QemuResult(code, "semihost-exit", console, fw_log)
