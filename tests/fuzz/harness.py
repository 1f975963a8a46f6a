"""Hostile-input fuzzing (issue 14): one generator and one oracle per input class.

Every case runs in a forked child under a time limit and an address-space limit, so a
hang, a runaway allocation or a crash in C (keystone, Unicorn) is caught and reported
instead of taking the fuzzer down. The oracle is the README's promise:
- no traceback, ever (anything escaping `cli.main` or a model is a failure);
- bad input: exit 2 with exactly one line `ffaemu: error: ...` on stderr;
- a guest's own fault: exit 1, reason `fault` (or `budget`), never a silent success;
- bounded: every case ends within its time limit.
Generators take a `random.Random`, so a case is reproduced from (class, seed).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import random
import resource
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ffaemu import cli  # noqa: E402
from ffaemu.loader import Image, Segment, elf_bytes  # noqa: E402

CASE_SECONDS = 20.0                 # per case: a hang is anything longer
MAX_OUTPUT = 1 << 20                # characters of stdout/stderr kept per case
CASE_MEMORY = 3 << 30               # RLIMIT_AS a case may add (Unicorn reserves ~1 GiB per machine)
GUEST_BASE = 0x4010_0000
HARNESS = (0x4000_0000, 0x4010_0000)
HARNESS_STACKS = (0x400C_0000, 0x400F_0000)    # writable by guests (their boot stacks)
EL3_MODELS = ["tfa", "tfa-spmd", "tfa-spmd:spmc=absent", "tfa-el3-spmc", "optee"]
EL2_MODELS = ["none", "pkvm", "pkvm:version-check=u64", "pkvm:negotiate-at-init=on", "xen",
              "xen:negotiation=legacy"]


@dataclass
class Outcome:
    """What one case did, as seen from outside."""

    code: int | None = None
    stdout: str = ""
    stderr: str = ""
    traceback: str | None = None
    hang: bool = False
    crash: str | None = None          # the child died (signal, MemoryError in C ...)
    extra: dict = field(default_factory=dict)


def _address_space() -> int:
    """This process's virtual size: a forked child starts with all of it."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


def in_child(fn, timeout: float = CASE_SECONDS, memory: int = CASE_MEMORY) -> Outcome:
    """Run `fn() -> Outcome` in a forked child with a time limit and `memory` bytes of
    address space on top of what it inherits (a test process may hold many machines)."""
    limit = _address_space() + memory
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                      # child
        os.close(r)
        status = 0
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            try:
                out = fn()
            except BaseException:                     # noqa: BLE001 - the oracle wants them all
                out = Outcome(traceback=traceback.format_exc())
            data = json.dumps(out.__dict__).encode()
            with os.fdopen(w, "wb") as f:
                f.write(data)
        except BaseException:                         # noqa: BLE001
            status = 3
        finally:
            os._exit(status)
    os.close(w)
    chunks, deadline = [], time.monotonic() + timeout
    with os.fdopen(r, "rb") as f:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([f], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                _restart_keystone()
                return Outcome(hang=True)
            chunk = os.read(f.fileno(), 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        return Outcome(crash=f"child died without a report (wait status {status:#x})")
    return Outcome(**json.loads(b"".join(chunks)))


def warm_up() -> None:
    """In the process that forks cases: start the keystone worker process once (a round
    trip when it runs), so forked cases share it instead of each starting one; after a
    case hung, restart it (the hung case may have left a reply in its pipe)."""
    try:
        from ffaemu.toolchain import ks_bounded
    except ImportError:                         # an assembler without a worker process
        return
    if ks_bounded.available():
        ks_bounded.asm("nop", GUEST_BASE)


def _restart_keystone() -> None:
    try:
        from ffaemu.toolchain import ks_bounded
    except ImportError:
        return
    if getattr(ks_bounded, "_worker", None) is not None:
        ks_bounded._worker.stop()               # test harness: the module keeps one per process


def cli_case(argv: list[str], stdin: str = "", cwd: Path | None = None) -> Outcome:
    """`ffaemu ARGV` in-process (call inside `in_child`), in `cwd` (default: the checkout):
    files a fuzzed command line names relatively (a --trace-file) land there."""
    os.chdir(cwd or ROOT)
    out, err = io.StringIO(), io.StringIO()
    sys.stdin = io.StringIO(stdin)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return Outcome(code=code, stdout=out.getvalue()[:MAX_OUTPUT], stderr=err.getvalue()[:MAX_OUTPUT])


def problems(o: Outcome, allow_success: bool = True) -> list[str]:
    """What is wrong with an outcome under the README's promise; [] when it is fine."""
    found = []
    if o.hang:
        found.append("hang")
    if o.crash:
        found.append(f"crash: {o.crash}")
    if o.traceback:
        found.append("traceback: " + o.traceback.strip().splitlines()[-1])
    if "Traceback (most recent call last)" in o.stderr + o.stdout:
        found.append("traceback printed")
    if o.code is not None:
        if o.code not in (0, 1, 2):
            found.append(f"exit status {o.code}")
        if o.code == 2:
            lines = o.stderr.strip().splitlines()
            if len(lines) != 1 or not lines[0].startswith("ffaemu: error: "):
                found.append(f"bad-input exit without one error line: {o.stderr.strip()[:200]!r}")
        if o.code == 0 and not allow_success:
            found.append("silent success: exit 0 where the input must fail")
    return found


# Generators ----------------------------------------------------------------------------
def _tiny_elf(rng: random.Random) -> bytes:
    code = b"".join(struct.pack("<I", rng.choice([0xD503201F, 0x14000000, 0xD4000003]))
                    for _ in range(rng.randint(1, 8)))
    syms = {f"s{i}": GUEST_BASE + 4 * i for i in range(rng.randint(0, 4))}
    return elf_bytes(Image([Segment(GUEST_BASE, code)], GUEST_BASE, syms, "fuzz"))


_ELF_FIELDS = [(0x18, "Q"), (0x20, "Q"), (0x28, "Q"), (0x36, "H"), (0x38, "H"), (0x3A, "H"),
               (0x3C, "H"), (0x3E, "H"), (0x04, "B"), (0x05, "B"), (0x12, "H")]
_EXTREMES = [0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 0x40]


def gen_elf(rng: random.Random) -> bytes:
    """A small valid ELF, then header fields set to extremes, bytes flipped, truncated
    or extended with a crafted section table."""
    data = bytearray(_tiny_elf(rng))
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.4 and len(data) >= 0x40:
            off, fmt = rng.choice(_ELF_FIELDS)
            width = struct.calcsize(fmt)
            value = rng.choice(_EXTREMES + [rng.getrandbits(8 * width)]) & ((1 << 8 * width) - 1)
            struct.pack_into("<" + fmt, data, off, value)
        elif choice < 0.7 and data:
            for _ in range(rng.randint(1, 16)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)
        elif choice < 0.85:
            data = data[:rng.randrange(len(data) + 1)]
        else:                                          # a symbol table with many bogus entries
            shoff = len(data)
            n = rng.randint(1, 4)
            for _ in range(n):
                data += struct.pack("<IIQQQQIIQQ", rng.getrandbits(32), rng.choice([2, 3, 1]), 0, 0,
                                    rng.choice([0, 0x40, len(data)]), rng.choice([0, 24, 1 << 40, 0xFFFF_FFFF_FFFF]),
                                    rng.randint(0, n), 0, 8, rng.choice([0, 24, 1]))
            if len(data) >= 0x40:
                struct.pack_into("<Q", data, 0x28, shoff)
                struct.pack_into("<HH", data, 0x3A, 64, n)
    return bytes(data)


def gen_raw(rng: random.Random) -> bytes:
    words = [rng.getrandbits(32) for _ in range(rng.randint(0, 64))]
    return b"".join(struct.pack("<I", w) for w in words) + bytes(rng.randint(0, 3))


_ASM_LINES = ["nop", "mov x0, #1", "ldr x0, =0x84000063", "smc #0", "hvc #0", "b .", "ret",
              "a:: nop", '.ascii "unterminated', ".word 0xffffffff", "ldr x0, [x1, #99999999]",
              "mov x0, #0x1234567890", "b undefined_label", ".include \"/nonexistent.S\"",
              ".include \"/dev/zero\"", "label:", "label:", ".balign 0x100000", ".skip 0x7fffffff",
              "// comment é", "mrs x0, cntvct_el0", "msr vbar_el1, x0", "eret", "wfi", "hlt #0xffa0",
              ".rept 100000\nnop\n.endr", "\t\t", "x" * 300, ".equ foo, foo+1", "b 0x3", "\x00",
              "ldr x0, =0x40002800\nstr x0, [x0]"]


def gen_asm(rng: random.Random) -> bytes:
    lines = []
    for _ in range(rng.randint(1, 12)):
        r = rng.random()
        if r < 0.7:
            lines.append(rng.choice(_ASM_LINES))
        elif r < 0.85:
            lines.append("".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0x80, 0x2FFF)]))
                                 for _ in range(rng.randint(1, 30))))
        else:
            lines.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 20))).decode("latin-1"))
    text = "\n".join(lines) + "\n"
    return text.encode("utf-8") if rng.random() < 0.8 else text.encode("latin-1", "replace")


_OPTS = ["--base", "--entry", "--cpu", "--max-insns", "--ram-size", "--el3", "--el2", "--vms",
         "--vcpus", "--fw-upper", "--seed", "--json", "--trace", "--trace-file", "--timeout"]
_VALUES = ["0", "-1", "1", "0x40100000", "0xffffffffffffffff", "18446744073709551616", "1e9", "abc",
           "", "512M", "0k", "99999999999999999999999", "max", "a72", "tfa", "pkvm", "xen",
           "tfa-spmd:spmc=absent", "nosuch", "pkvm:version-check=zz", "real", "garbage", "é",
           "/dev/full", "/dev/null", "insn", "calls", "nan", "inf", "0.001", "1_000", "tfa:upper=zero",
           "tfa:seed=1", "tfa-spmd:spmc=absent,spmc=x", "pkvm:=x", "xen:negotiation", "optee:,,",
           str(ROOT / "asm/el2/pkvm_proxy_s32.S"), str(ROOT / "asm/el3/monitor_ns_sext.S"),
           str(ROOT / "asm/el1/psci_off.S")]


def gen_cli(rng: random.Random) -> list[str]:
    cmd = rng.choice(["run", "run", "debug", "explore", "scenario", "list", "bogus"])
    argv = [cmd]
    if cmd in ("run", "debug"):
        argv.append(rng.choice([str(ROOT / "asm/el1/psci_off.S"), str(ROOT / "asm/el1/ffa_deferred.S"),
                                "nosuch.S", "/dev/null"]))
        for _ in range(rng.randint(0, 5)):
            opt = rng.choice(_OPTS)
            argv += [opt] if opt == "--json" else [opt, rng.choice(_VALUES)]
        if "--max-insns" not in argv:
            argv += ["--max-insns", "200000"]
    elif cmd == "explore":
        argv += ["xen-negotiation-race", "--variant", rng.choice(["fixed", "unlocked-publish", "zz"])]
        for _ in range(rng.randint(0, 3)):         # values that keep a valid run short
            argv += [rng.choice(["--bound", "--count", "--seed", "--replay", "--vcpus"]),
                     rng.choice(["0", "1", "-1", "5", "99999999999", "zz", "1e3", ""])]
        if "--seed" in argv and "--count" not in argv:
            argv += ["--count", "3"]
        if "--bound" not in argv:
            argv += ["--bound", "1"]                 # the default (2) takes ~15 s for `fixed`
    elif cmd == "scenario":
        argv += rng.choice([["list"], ["run", "nosuch"], ["run", "pkvm-version-sext", "--variant", "zz"]])
    return argv


_GUEST_TEMPLATES = [
    "ldr x0, ={harness:#x}\nstr x1, [x0]",                 # write into the harness
    "adr x1, 1f\nadd x1, x1, #{odd}\nbr x1\n1: nop",       # branch to a misaligned address
    "wfi", "wfe", "hlt #0xffa0", "ldr x0, =0x84000008\nsmc #0", "mrs x0, cntvct_el0",
    "ldr x0, =0x84000063\nldr x1, =0x10002\nsmc #0", "hvc #0", "svc #0", "brk #1", "eret",
    "msr vbar_el1, xzr", "ldr x0, =0x09000000\nmov w1, #0x41\nstrb w1, [x0]", "udf #0",
    "ldr x0, =0xdead0000\nldr x1, [x0]", "1: smc #0\nb 1b",
    "ldr x0, =0x40001000\nbr x0", "ldr x0, =0x40002a00\nbr x0", "ldr x0, =0x40000000\nbr x0",   # into the harness
    "mov x0, #0x400\nmsr cpacr_el1, xzr\nfmov d0, x0", "mrs x0, sctlr_el1\norr x0, x0, #2\nmsr sctlr_el1, x0\n"
    "ldr x1, =0x40300001\nldr x2, [x1]",
]


def gen_guest(rng: random.Random) -> tuple[str, list[str], bool]:
    """(EL1 assembly, CLI options, may it succeed?) for a guest built from hostile
    fragments. A guest that writes harness memory, branches misaligned or runs random
    words must not end in success; one that powers off may."""
    parts = []
    for _ in range(rng.randint(1, 4)):
        t = rng.choice(_GUEST_TEMPLATES + ["words"])
        if t == "words":
            parts.append("\n".join(f".word {rng.getrandbits(32):#x}" for _ in range(rng.randint(1, 6))))
        else:
            target = rng.choice([rng.randrange(HARNESS[0], HARNESS_STACKS[0]),
                                 rng.randrange(HARNESS_STACKS[1], HARNESS[1] - 8)]) & ~7
            parts.append(t.format(harness=target, odd=rng.choice([1, 2, 3])))
    source = "_start:\n" + "\n".join(parts) + "\nb .\n"
    may_succeed = "0x84000008" in source           # PSCI SYSTEM_OFF somewhere
    opts = ["--el3", rng.choice(EL3_MODELS), "--el2", rng.choice(EL2_MODELS), "--max-insns", "300000"]
    return source, opts, may_succeed


_FIDS = [0x84000063, 0x84000064, 0x84000065, 0x84000066, 0xC4000066, 0x84000067, 0x84000068,
         0x84000069, 0x84000085, 0x8400006F, 0xC400006F, 0x84000070, 0xC4000071, 0x84000073,
         0xC4000073, 0x84000074, 0xC4000074, 0x84000077, 0x84000061, 0xC6000001, 0x80000000]


ODD_EL3_ANSWERS = 16


def gen_odd_el3(rng: random.Random) -> str:
    """An EL3 image answering each SMC with the next of 16 generated x0-x7 rows: FF-A
    success/error with odd codes and counts, versions, garbage (the pKVM and Xen models
    must survive whatever a user's EL3 image says)."""
    def word():
        return rng.choice([0x84000061, 0xC4000061, 0x84000060, 0x10002, 0x10000, 0x20000, 0xFFFFFFFF,
                           0, 1, 24, 0x7FFFFFFF, rng.getrandbits(32), rng.getrandbits(64)])
    rows = [[word() for _ in range(8)] for _ in range(ODD_EL3_ANSWERS)]
    table = "\n".join("    .quad " + ", ".join(f"{v:#x}" for v in row) for row in rows)
    return f"""
el3_sync_lower:
    ldr x16, =0x84000008
    cmp w0, w16
    b.eq off
    ldr x17, =next_row
    ldr x16, [x17]
    add x18, x16, #1
    and x18, x18, #{ODD_EL3_ANSWERS - 1}
    str x18, [x17]
    ldr x17, =rows
    add x17, x17, x16, lsl #6
    ldp x0, x1, [x17]
    ldp x2, x3, [x17, #16]
    ldp x4, x5, [x17, #32]
    ldp x6, x7, [x17, #48]
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
next_row:
    .quad 0
rows:
{table}
"""


def gen_ffa(rng: random.Random) -> tuple[str, str, list]:
    def arg():
        return rng.choice([0, 1, 0x1000, 0x40080000, HARNESS[0], GUEST_BASE, 0x8001, 0xFFFF_FFFF,
                           rng.getrandbits(64), rng.getrandbits(32)])
    calls = [([rng.choice(_FIDS) if rng.random() < 0.9 else rng.getrandbits(32)] + [arg() for _ in range(7)],
              rng.random() < 0.1) for _ in range(rng.randint(1, 12))]
    if rng.random() < 0.7:
        calls.insert(0, ([0xC6000001] + [0] * 7, True))        # pKVM's init hypercall first
        calls.insert(1, ([0x84000063, 0x10002] + [0] * 6, False))
    return rng.choice(EL3_MODELS), rng.choice(EL2_MODELS), calls


_DEBUG_CMDS = ["step", "step 3", "step 0", "step -1", "step 99999999999999999999", "next", "continue",
               "finish", "regs", "sysregs", "disas", "disas 0 5", "disas main 9999999", "where", "ffa",
               "x/4 0x40100000", "x/999999999 0", "x/4w -1", "x/1", "x", "break smc", "break hvc",
               "break eret", "break exception", "break 0x40100004", "break nosuch", "delete", "delete zz",
               "info break", "info", "help", "bogus", "'unterminated", "x/4 _start+0x10", "x/2g 0x0",
               "break _start+zz", "step 0x10"]


def gen_debug(rng: random.Random) -> list[str]:
    return [rng.choice(_DEBUG_CMDS) for _ in range(rng.randint(1, 15))]


_GDB_PACKETS = ["?", "g", "p0", "p20", "p21", "p99", "pzz", "p-1", "P1=zz", "P1=0000000000000000",
                "P21=00000000", "m40100000", "m40100000,4", "m0,ffffffff", "mzz,4", "M40100000,4:zz",
                "M40100000,4:1f2003d5", "Z0,zz,4", "Z0,40100004,4", "z0,40100004,4", "Z1,0,4",
                "vCont;", "vCont?", "vCont;s", "s", "c", "G" + "00" * 300, "Gzz", "qSupported",
                "qXfer:features:read:target.xml:0,fff", "qXfer:features:read:target.xml:zz", "qC",
                "H", "T", "qAttached", "QStartNoAckMode", "X40100000,4:abcd"]


def gen_gdb(rng: random.Random) -> list[bytes]:
    """Framed packets: valid, malformed, with bad checksums, oversized, or raw noise."""
    out = []
    for _ in range(rng.randint(1, 10)):
        r = rng.random()
        body = rng.choice(_GDB_PACKETS).encode()
        if r < 0.1:
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40))).replace(b"#", b"").replace(b"$", b"")
        if r < 0.8:
            out.append(b"$" + body + b"#" + f"{sum(body) & 0xFF:02x}".encode())
        elif r < 0.9:
            out.append(b"$" + body + b"#00")
        elif r < 0.95:
            out.append(b"$" + b"m" * rng.randint(0x4000, 0x20000) + b"#00")
        else:
            out.append(b"\x03")
    return out


# Cases: one per class, each a function of (rng, workdir) returning problems ---------------
def _write(workdir: Path, name: str, data: bytes) -> Path:
    path = workdir / name
    path.write_bytes(data)
    return path


def case_elf(rng, workdir):
    path = _write(workdir, "f.elf", gen_elf(rng))
    argv = ["run", str(path), "--max-insns", "100000", "--json"]
    if rng.random() < 0.3:
        argv = ["debug", str(path), "--max-insns", "100000"]
        return problems(in_child(lambda: cli_case(argv, stdin="where\nstep\nwhere\nquit\n")))
    return problems(in_child(lambda: cli_case(argv)))


def case_raw(rng, workdir):
    path = _write(workdir, "f.bin", gen_raw(rng))
    argv = ["run", str(path), "--max-insns", "100000"]
    if rng.random() < 0.5:
        argv += ["--el3", rng.choice(EL3_MODELS)]
    return problems(in_child(lambda: cli_case(argv)), allow_success=False)


def case_asm(rng, workdir):
    path = _write(workdir, "f.S", gen_asm(rng))
    which = rng.choice(["keystone"] * 3 + ["llvm", "auto"])      # LLVM runs a process: slower
    argv = ["run", str(path), "--max-insns", "100000"] + ([] if which == "auto" else ["--assembler", which])
    return problems(in_child(lambda: cli_case(argv)))


def case_cli(rng, workdir):
    argv = gen_cli(rng)
    # A --trace-file is written (truncated first): never let it name a file of the checkout.
    argv = [a if not (i and argv[i - 1] == "--trace-file") or a in ("/dev/full", "/dev/null")
            else str(workdir / "trace.jsonl") for i, a in enumerate(argv)]
    return problems(in_child(lambda: cli_case(argv, cwd=workdir)))


def case_guest(rng, workdir):
    source, opts, may_succeed = gen_guest(rng)
    path = _write(workdir, "g.S", source.encode())
    out = in_child(lambda: cli_case(["run", str(path), *opts, "--json"]))
    found = problems(out, allow_success=may_succeed)
    if out.code in (0, 1):
        try:
            exit_ = json.loads(out.stdout)["exit"]
        except (ValueError, KeyError):
            return found + [f"--json output is not one JSON object: {out.stdout[:100]!r}"]
        if out.code == 1 and exit_["reason"] not in ("fault", "budget"):
            found.append(f"unexpected end {exit_['reason']}")
        if source.split("\n")[2] == "str x1, [x0]" and "harness memory" not in exit_["message"]:
            found.append("write into the harness not reported as a fault")
    return found


def case_ffa(rng, workdir):
    el3, el2, calls = gen_ffa(rng)
    if rng.random() < 0.4:                       # a user EL3 image with odd answers
        el3 = str(_write(workdir, "odd_el3.S", gen_odd_el3(rng).encode()))
        el2 = rng.choice(["pkvm", "pkvm:version-check=u64", "pkvm:negotiate-at-init=on", "xen", "none"])

    def run():
        from ffaemu.widthfuzz import run_calls
        result, _, _ = run_calls(el3, el2, calls)
        return Outcome(code=0 if result.reason.value in ("system-off", "semihost-exit") else 1,
                       extra={"reason": result.reason.value, "message": result.message})
    return problems(in_child(run))


def case_debug(rng, workdir):
    cmds = gen_debug(rng)
    path = _write(workdir, "cmds.txt", "\n".join(cmds).encode())
    guest = str(ROOT / rng.choice(["asm/el1/psci_off.S", "asm/el1/ffa_deferred.S"]))
    argv = ["debug", guest, "--el3", "tfa-spmd", "--el2", rng.choice(["pkvm", "none"]),
            "--commands", str(path), "--max-insns", "2000000"]
    return problems(in_child(lambda: cli_case(argv, cwd=workdir)))


def case_gdb(rng, workdir):
    packets = gen_gdb(rng)

    def run():
        from ffaemu.gdbstub import GdbStub
        from ffaemu.loader import load_asm
        from ffaemu.machine import Machine
        m = Machine(max_insns=2_000_000)
        image = m.load(load_asm(ROOT / "asm/el1/psci_off.S"))
        stub = GdbStub(m, 0, start_at=image.entry, on_disconnect="stop")
        m.start(image.entry)
        errors = []

        def serve():
            try:
                stub.serve()
            except BaseException:                     # noqa: BLE001 - the oracle
                errors.append(traceback.format_exc())
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        c = socket.create_connection(("127.0.0.1", stub.port), timeout=10)
        for p in packets:
            c.sendall(p)
            try:
                c.recv(65536)
            except socket.timeout:
                errors.append(f"no answer to {p[:40]!r}")
                break
            except OSError:
                break
        with contextlib.suppress(OSError):
            c.sendall(b"$k#6b")
            c.close()
        thread.join(timeout=10)
        if thread.is_alive():
            errors.append("stub did not end after k")
        return Outcome(code=0, traceback=errors[0] if errors else None)
    return problems(in_child(run))


def case_determinism(rng, workdir):
    source, opts, _ = gen_guest(rng)
    source = source.replace("_start:\n", "_start:\nmrs x20, cntvct_el0\n", 1) + "\n"
    path = _write(workdir, "d.S", source.encode())
    a = in_child(lambda: cli_case(["run", str(path), *opts, "--json"]))
    b = in_child(lambda: cli_case(["run", str(path), *opts, "--json"]))
    found = problems(a) + problems(b)
    if not found and (a.stdout, a.code) != (b.stdout, b.code):
        found.append("two runs of the same input differ")
    return found


CLASSES = {"elf": case_elf, "raw": case_raw, "asm": case_asm, "cli": case_cli, "guest": case_guest,
           "ffa": case_ffa, "debugger": case_debug, "gdb": case_gdb, "determinism": case_determinism}


def run_case(cls: str, seed: int, workdir: Path) -> list[str]:
    """Problems found by case `seed` of class `cls` ([] when the promise holds)."""
    workdir.mkdir(parents=True, exist_ok=True)
    warm_up()
    return CLASSES[cls](random.Random(f"{cls}:{seed}"), workdir)
