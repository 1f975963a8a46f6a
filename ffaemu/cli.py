"""`ffaemu` command line: `ffaemu run IMAGE ...`.

Exit status: 0 when the run ends by semihosting SYS_EXIT(0) or PSCI SYSTEM_OFF,
1 for any other end of the run, 2 for bad input (a one-line error, no traceback).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .backends import commands as qemu_commands
from .errors import FfaemuError
from .ffa.conv import UpperPolicy
from .inputs import MAX_TEXT_BYTES, read_text
from .machine_limits import CPU_NAMES, DEFAULT_MAX_INSNS, MAX_MAX_INSNS
from .memmap import DEFAULT_RAM_SIZE
from .models.fw import FIRMWARE
from .models.hyp import HYPERVISORS

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2
# Under `debug` and `--gdb` every instruction passes a Python hook (about 700,000 per
# second), so their default budget is smaller: a `continue` ends within about 15 s.
DEBUG_MAX_INSNS = 10_000_000


class _HelpFormatter(argparse.HelpFormatter):
    """Help that states each option's default and choices; `lazy_help` (a callable on the
    action) supplies text that is costly to build (scenario names) only when help is shown."""

    def _get_help_string(self, action):
        text = action.help or ""
        lazy = getattr(action, "lazy_help", None)
        if lazy is not None:
            text = lazy()
        if action.choices and action.metavar is not None and "one of" not in text:
            text += f" (one of: {', '.join(map(str, action.choices))})"
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


class _LazyChoices:
    """argparse choices read from `ffaemu.<module>.<name>` only when checked or shown, so
    building the parser imports nothing heavy (the explorer pulls in capstone)."""

    def __init__(self, module: str, name: str):
        self._where = (module, name)

    def _values(self):
        import importlib
        return list(getattr(importlib.import_module(f"{__package__}.{self._where[0]}"), self._where[1]))

    def __contains__(self, value) -> bool:
        return value in self._values()

    def __iter__(self):
        return iter(self._values())


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line and exits 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise FfaemuError(message)


def _address(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an address (e.g. 0x40100000)") from None
    if not 0 <= value < 1 << 48:
        raise argparse.ArgumentTypeError(f"address {text} is outside the 48-bit physical space")
    return value


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", ""), 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value.bit_length() > 64:
        raise argparse.ArgumentTypeError(f"'{text}' is too large")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive")
    return value


def _ranged(low: int, high: int, what: str):
    """A count type for options with a sane range (hostile input: no 2**64 budgets)."""
    def parse(text: str) -> int:
        value = _count_or_zero(text) if low == 0 else _count(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be between {low} and {high}, not {text}")
        return value
    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"--timeout must be between 0 and 86400 seconds, not {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a TCP port") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is outside 0-65535")
    return value


def _count_or_zero(text: str) -> int:
    return 0 if text.strip() in ("0", "0x0") else _count(text)


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().rstrip("ib")
    scale = units.get(t[-1:], 1)
    number = t[:-1] if t[-1:] in units else t
    try:
        return int(number, 0) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size (e.g. 512M)") from None


def add_assembler_option(p: argparse.ArgumentParser) -> None:
    """--assembler, for every command that assembles .S sources (it sets $FFAEMU_ASSEMBLER)."""
    p.add_argument("--assembler", choices=["keystone", "llvm"],
                   help="assembler for .S sources and boot stubs (default: $FFAEMU_ASSEMBLER, "
                   "else keystone when installed, with LLVM for what keystone cannot encode)")


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options `run` and `debug` share."""
    add_assembler_option(p)
    p.add_argument("image", help="a .S source (assembled), a .c source (compiled freestanding), "
                   "an AArch64 ELF, or a raw .bin; .S, .c and .bin are placed at --base")
    p.add_argument("--base", type=_address, help="load address of .S/raw images (default 0x40100000)")
    p.add_argument("--entry", type=_address, help="entry point (default: ELF entry or --base)")
    p.add_argument("--cpu", choices=sorted(CPU_NAMES), default="a72", help="CPU model (default: a72)")
    p.add_argument("--max-insns", type=_ranged(1, MAX_MAX_INSNS, "--max-insns"),
                   help="instruction budget (default 100M, 10M under debug/--gdb); each exception "
                   "or model call handled in Python counts as 1000")
    p.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                   help="end the run after this much wall-clock time (Unicorn: reason budget, "
                   "default none; with --qemu/--firmware: QEMU is killed, default 10)")
    p.add_argument("--ram-size", type=_size, default=DEFAULT_RAM_SIZE, help="RAM size (default 512M)")
    p.add_argument("--el3", metavar="MODEL|FILE", help="EL3 firmware model (one of: "
                   f"{', '.join(FIRMWARE.names())}; options as NAME:key=value, see `ffaemu list`) "
                   "or image (.S, .c, ELF, .bin); IMAGE is then an EL1 guest booted by real "
                   "EL3/EL2 stubs (default: none, IMAGE runs from EL3)")
    p.add_argument("--el2", metavar="MODEL|FILE", help="EL2 hypervisor model (one of: "
                   f"{', '.join(HYPERVISORS.names())}) or image, with --el3 (default: none)")
    p.add_argument("--vms", type=_ranged(1, 16, "--vms"), default=1, help="guests (VMs) under --el2 xen (default: 1)")
    p.add_argument("--vcpus", type=_ranged(1, 64, "--vcpus"), default=1, help="vCPUs per guest under --el2 xen (default: 1)")
    p.add_argument("--fw-upper", choices=[p.value for p in UpperPolicy], default="real",
                   help="how the firmware fills bits [63:32] of SMC32 results (default: real)")
    p.add_argument("--seed", type=_ranged(0, 1 << 63, "--seed"), default=0, help="seed for --fw-upper garbage (default: 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object with the result")
    p.add_argument("--trace", nargs="?", action="append", const="calls", choices=["calls", "insn"],
                   help="calls (default): one line per hop of every call a model answers and per "
                   "exception; insn: every instruction with the registers it wrote (slow). Repeatable")
    p.add_argument("--trace-file", metavar="PATH", help="also write the trace as JSON lines to PATH "
                   "(implies --trace calls; calls that never returned are written too)")


def _scenario_names_help() -> str:
    from . import scenarios
    return "the scenario (or --all), one of: " + ", ".join(scenarios.registry())


def _add_list(sub) -> None:
    sub.add_parser("list", help="list the firmware and hypervisor models", description="List the "
                   "--el3 firmware models and --el2 hypervisor models with their options.")


def _add_explore(sub) -> None:
    ex = sub.add_parser("explore", help="interleave several vCPUs of one VM, instruction by "
                        "instruction, looking for ordering bugs")
    ex.add_argument("target", choices=["xen-negotiation-race"],
                    help="what to explore: xen-negotiation-race (Xen's per-VM FFA_VERSION "
                    "negotiation, asm/el2/xen/*.S)")
    ex.add_argument("--variant", required=True, choices=_LazyChoices("explore", "VARIANTS"), metavar="VARIANT",
                    help="the mediator (see the README's explorer section) (required)")
    ex.add_argument("--memory-model", choices=["sc", "armv8"], default="sc",
                    help="sc (default): instruction interleavings over one shared page; armv8: the "
                    "ARMv8 model (loads and stores reordered as barriers, acquire/release and "
                    "dependencies allow)")
    ex.add_argument("--bound", type=_ranged(0, 4, "--bound"), default=2, help="at most K preemptions "
                    "(sc) or deviations from the default choices (armv8) (0-4, default 2)")
    ex.add_argument("--seed", type=_ranged(0, 1 << 63, "--seed"), help="random schedules from this "
                    "seed instead (default: bounded exhaustive exploration)")
    ex.add_argument("--count", type=_ranged(1, 1_000_000, "--count"),
                    help="random schedules with --seed (at most 1,000,000; default: 200)")
    ex.add_argument("--replay", type=_ranged(0, 1 << 63, "--replay"), metavar="SEED",
                    help="run exactly the schedule of SEED")
    ex.add_argument("--schedule", metavar="ID", help="run exactly a schedule printed by a bounded "
                    "search (sc: STEP:VCPU,...; armv8: CHOICE:ALTERNATIVE,...)")
    ex.add_argument("--vcpus", type=_ranged(2, 4, "--vcpus"), default=2, help="vCPUs, 2 to 4 (default: 2)")
    ex.add_argument("--json", action="store_true", help="print one JSON object with the report")
    ex.add_argument("--shard", metavar="I/N", help="run part I of N of the search (bounded or "
                    "random); `ffaemu merge` joins the parts' --json reports into the whole")
    add_assembler_option(ex)


def _add_merge(sub) -> None:
    mg = sub.add_parser("merge", help="merge the --json reports of `explore --shard I/N` runs")
    mg.add_argument("reports", nargs="+", metavar="REPORT.json", help="one report per shard")


def _add_litmus(sub) -> None:
    lit = sub.add_parser("litmus", help="run herd7 AArch64 litmus tests under the ARMv8 (or SC) model")
    lit.add_argument("files", nargs="+", metavar="FILE.litmus", help="herd7 AArch64 litmus tests")
    lit.add_argument("--model", choices=["armv8", "sc"], default="armv8", help="memory model (default armv8)")
    lit.add_argument("--json", action="store_true", help="one JSON object per test, one per line")
    add_assembler_option(lit)


def _add_scenario(sub) -> None:
    scen = sub.add_parser("scenario", help="real FF-A/SMCCC bugs, buggy vs fixed")
    scen_sub = scen.add_subparsers(dest="scenario_command", required=True, parser_class=_Parser)
    scen_sub.add_parser("list", help="list the scenarios by project, with each fix's commit")
    srun = scen_sub.add_parser("run", help="run a scenario (all variants unless --variant)")
    srun.add_argument("name", nargs="?", help="a scenario, or --all").lazy_help = _scenario_names_help
    srun.add_argument("--all", action="store_true", help="every scenario")
    srun.add_argument("--variant", help="one variant (see `ffaemu scenario list`; default: all)")
    srun.add_argument("--format", choices=["text", "json", "markdown"], default="text",
                      help="text (traces and verdicts), json (one object per scenario and "
                      "variant), markdown (a table for a bug report) (default: text)")
    srun.add_argument("--json", dest="format", action="store_const", const="json",
                      help="the same as --format json")
    add_assembler_option(srun)


def _add_run(sub) -> None:
    run = sub.add_parser("run", help="run an image from EL3 (.S, ELF or raw .bin)")
    add_run_options(run)
    run.add_argument("--gdb", nargs="?", type=_port, const=1234, metavar="PORT",
                     help="wait for gdb-multiarch on 127.0.0.1:PORT (default 1234) at the "
                     "first instruction of the user's image")
    run.add_argument("--gdb-disconnect", choices=["wait", "continue", "stop"], default="wait",
                     help="when gdb's connection closes without detach/kill: wait for the next "
                     "client (default), continue the run to its end, or stop it")
    qemu_commands.add_run_options(run)          # real firmware under QEMU (ffaemu/backends)


def _add_debug(sub) -> None:
    debug = sub.add_parser("debug", help="step through a run: breakpoints on SMC/HVC/SVC/ERET, "
                           "exception entries, registers (x and w views), system registers")
    add_run_options(debug)
    debug.add_argument("--commands", metavar="FILE", help="read debugger commands from FILE "
                       "(default: standard input, or a prompt on a terminal)")
    next(a for a in debug._actions if a.dest == "json").help = "not for debug (refused): its session is text"


# Subcommands in `ffaemu -h` order, each with the function that adds its parser; diff and
# firmware come from backends/commands.py (one function adds both).
_SUBCOMMANDS = (("list", _add_list), ("explore", _add_explore), ("merge", _add_merge),
                ("litmus", _add_litmus), ("scenario", _add_scenario), ("run", _add_run),
                ("diff", qemu_commands.add_commands), ("firmware", None), ("debug", _add_debug))


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. Given `argv` naming a subcommand, only that subcommand's
    parser is built (argparse costs a few ms per command at every start); otherwise (help,
    a bad or missing command) all of them, so the messages list every command."""
    p = _Parser(prog="ffaemu", description="Run AArch64 EL3/EL2/EL1 images with exact "
                "SMC/HVC trapping on Unicorn.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    wanted = argv[0] if argv else None
    if wanted not in {name for name, _ in _SUBCOMMANDS}:
        wanted = None
    if wanted == "firmware":
        wanted = "diff"
    for name, add in _SUBCOMMANDS:
        if add is not None and wanted in (None, name):
            add(sub)
    return p


def result_json(res: "RunResult") -> dict:
    return {
        "exit": {"reason": res.reason.value, "code": res.code, "message": res.message},
        "console": res.console,
        "el": res.el,
        "regs": {k: hex(v) for k, v in res.regs.items()},
        "exceptions": [e.as_json() for e in res.exceptions],
        "calls": [c.as_json() for c in res.calls],
    }


def _stream(text: str) -> None:
    sys.stdout.write(text)
    if "\n" in text:
        sys.stdout.flush()


def _trace_line(line: str) -> None:
    sys.stdout.write(line + "\n")


def prepare(args, console, trace, events=None) -> tuple["Machine", int, int]:
    """The machine `run`/`debug` asked for: (machine, reset entry, first user instruction)."""
    from .loader import load_image
    from .machine import Machine
    from .runner import build_guest
    if args.max_insns is None:
        debugging = args.command == "debug" or getattr(args, "gdb", None) is not None
        args.max_insns = DEBUG_MAX_INSNS if debugging else DEFAULT_MAX_INSNS
    if args.el3:
        if args.base is not None or args.entry is not None:
            raise FfaemuError("--base/--entry apply to images run from EL3, not to --el3 guests")
        setup = build_guest(args.image, args.el3, args.el2 or "none", fw_upper=args.fw_upper,
                            seed=args.seed, cpu=args.cpu, max_insns=args.max_insns,
                            ram_size=args.ram_size, vms=args.vms, vcpus=args.vcpus,
                            console=console, trace=trace, events=events, timeout=args.timeout)
        return setup.machine, setup.entry, setup.machine.images[0].entry
    if args.el2 or args.vms > 1 or args.vcpus > 1:
        raise FfaemuError("--el2/--vms/--vcpus need --el3: a hypervisor runs under firmware")
    machine = Machine(cpu=args.cpu, ram_size=args.ram_size, max_insns=args.max_insns,
                      console=console, trace=trace, events=events, timeout=args.timeout)
    entry = machine.load(load_image(args.image, args.base, args.entry)).entry
    return machine, entry, entry


def _trace_outputs(args):
    """(text sink for calls/exceptions, text sink for instructions, JSON-lines sink, file)."""
    kinds = set(args.trace or [])
    if args.trace_file and not kinds:
        kinds = {"calls"}
    text = None if getattr(args, "json", False) else _trace_line
    trace_file = None
    if args.trace_file:
        try:
            trace_file = open(args.trace_file, "w", buffering=1)     # one event per line, flushed
        except OSError as e:
            raise FfaemuError(f"{args.trace_file}: cannot write: {e.strerror}") from None
    events = _TraceWriter(trace_file, args.trace_file) if trace_file else None
    return (text if "calls" in kinds else None, text if "insn" in kinds else None,
            events if "calls" in kinds else None, events if "insn" in kinds else None, trace_file)


class _TraceWriter:
    """--trace-file events as JSON lines; a failing write (a full disk, /dev/full) is one
    error line naming the file, not a traceback from inside a Unicorn hook."""

    def __init__(self, file, path: str):
        self.file, self.path = file, path

    def __call__(self, event: dict) -> None:
        try:
            self.file.write(json.dumps(event) + "\n")
        except OSError as e:
            raise FfaemuError(f"{self.path}: cannot write the trace: {e.strerror}") from None

    @staticmethod
    def close(file, path: str) -> None:
        try:
            file.close()
        except OSError as e:
            raise FfaemuError(f"{path}: cannot write the trace: {e.strerror}") from None


def cmd_run(args) -> int:
    if qemu_commands.wants_qemu(args):
        return qemu_commands.cmd_run_qemu(args)
    console = None if args.json else _stream
    calls_text, insn_text, call_events, insn_events, trace_file = _trace_outputs(args)
    machine, entry, first = prepare(args, console, calls_text, call_events)
    insn_tracer = None
    if insn_text or insn_events:
        from .trace import InsnTracer
        insn_tracer = InsnTracer(machine, insn_text, insn_events)
    if args.gdb is not None:
        from .gdbstub import GdbStub
        try:
            stub = GdbStub(machine, args.gdb, start_at=first, on_disconnect=args.gdb_disconnect,
                           announce=lambda text: print(f"ffaemu: {text}", file=sys.stderr, flush=True))
        except OSError as e:
            raise FfaemuError(f"cannot listen on 127.0.0.1:{args.gdb}: {e.strerror}") from None
        machine.start(entry)
        res = stub.serve()
        if res is None:
            why = ("gdb disconnected; run stopped (--gdb-disconnect stop)"
                   if stub.ended_by == "disconnect" else "killed by gdb")
            print(f"[ffaemu] {why}", file=sys.stderr)
            return EXIT_RUN_FAILED
    else:
        res = machine.run(entry)
    if insn_tracer:
        insn_tracer.finish()
    if trace_file:
        machine.calls.finish()
        _TraceWriter.close(trace_file, args.trace_file)
    if args.json:
        json.dump(result_json(res), sys.stdout)
        sys.stdout.write("\n")
    else:
        sys.stdout.flush()
        code = "" if res.code is None else f" (code {res.code})"
        print(f"[ffaemu] {res.reason.value}{code}: {res.message}", file=sys.stderr)
    return EXIT_OK if res.ok else EXIT_RUN_FAILED


def cmd_debug(args) -> int:
    from .debugger import Debugger
    if args.json:
        raise FfaemuError("--json is for `ffaemu run`; `ffaemu debug` prints its session as text")
    if "insn" in (args.trace or []):
        raise FfaemuError("--trace insn is for `ffaemu run`; step with `step` here")
    calls_text, _, call_events, _, trace_file = _trace_outputs(args)
    machine, entry, first = prepare(args, _stream, calls_text, call_events)
    if args.commands:
        from .inputs import read_text
        lines = read_text(args.commands).splitlines()
    elif sys.stdin.isatty():
        lines = _interactive()
    else:
        lines = _stdin_commands()
    machine.start(entry)
    dbg = Debugger(machine, _print_line, start_at=first)
    dbg.begin()                       # to the first instruction of the user's image
    dbg.run_commands(lines)
    if trace_file:
        machine.calls.finish()
        _TraceWriter.close(trace_file, args.trace_file)
    return EXIT_OK if dbg.result is None or dbg.result.ok else EXIT_RUN_FAILED


def _stdin_commands() -> list[str]:
    """Debugger commands piped on standard input: size-checked and UTF-8, like --commands."""
    try:
        text = sys.stdin.read(MAX_TEXT_BYTES + 1)
    except UnicodeDecodeError:
        raise FfaemuError("standard input: debugger commands are not UTF-8 text") from None
    if len(text) > MAX_TEXT_BYTES:
        raise FfaemuError(f"standard input: more than {MAX_TEXT_BYTES >> 20} MiB of debugger commands")
    return text.splitlines()


def _print_line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _interactive():
    try:
        import readline  # noqa: F401 - line editing and history for input()
    except ImportError:
        pass
    while True:
        try:
            yield input("(ffaemu) ")
        except EOFError:
            return
        except UnicodeDecodeError:
            print("error: not UTF-8 text", file=sys.stderr)


def cmd_explore(args) -> int:
    from . import explore
    model = args.memory_model
    if args.count is not None and args.seed is None:
        raise FfaemuError("--count needs --seed (it is the number of random schedules)")
    if sum(x is not None for x in (args.seed, args.replay, args.schedule)) > 1:
        raise FfaemuError("--seed, --replay and --schedule exclude each other")
    from .shard import parse as parse_shard
    shard = parse_shard(args.shard) if args.shard else (0, 1)
    if args.shard and (args.replay is not None or args.schedule is not None):
        raise FfaemuError("--shard splits a search; --replay and --schedule run one schedule")
    if args.replay is not None or args.schedule is not None:
        prog = explore.Program(args.variant, args.vcpus)
        if args.replay is not None:
            out, what = explore.replay(prog, args.replay, model), f"replay of seed {args.replay}"
        else:
            out, what = explore.replay_schedule(prog, args.schedule, model), f"schedule {args.schedule}"
        report = explore.Report(args.variant, 1, int(bool(out.failure)), out if out.failure else None,
                                what, model)
    elif args.seed is not None:
        report = explore.explore_random(args.variant, args.seed, args.count or 200, args.vcpus, model,
                                        shard=shard)
    else:
        report = explore.explore_bounded(args.variant, args.bound, args.vcpus, model, shard=shard)
    if args.json:
        json.dump(report.as_json(), sys.stdout)
        sys.stdout.write("\n")
    else:
        part = f", shard {args.shard}" if args.shard else ""
        print(f"{args.target} --variant {args.variant} --memory-model {model}: {report.schedules} "
              f"schedules ({report.mode}{part}), {report.failures} failing")
        if report.first_failure is not None:
            f = report.first_failure
            print("first failing interleaving" + (" (memory events; --json has every instruction):"
                                                   if model == "armv8" else ":"))
            for line in explore.render(f, memory_only=model == "armv8"):
                print(line)
            again = f"ffaemu explore {args.target} --variant {args.variant} --memory-model {model}" + \
                (f" --vcpus {args.vcpus}" if args.vcpus != 2 else "")
            if f.seed is not None:
                print(f"replay: {again} --replay {f.seed}")
            else:
                if f.preemptions:
                    print("preemptions (step -> vCPU): " + ", ".join(f"{s} -> {v}" for s, v in f.preemptions))
                print(f"replay: {again} --schedule {explore.schedule_id(f)}")
    return EXIT_RUN_FAILED if report.failures else EXIT_OK


def cmd_litmus(args) -> int:
    from .analysis import litmus
    results = [litmus.run_file(path, args.model) for path in args.files]   # all parse, or one error
    for r in results:
        if args.json:
            json.dump(r.as_json(), sys.stdout)
            sys.stdout.write("\n")
        else:
            print("\n".join(r.lines()) + "\n")
    return EXIT_OK


def cmd_list(_args) -> int:
    for registry in (FIRMWARE, HYPERVISORS):
        print(f"{registry.role} models (--{'el3' if registry is FIRMWARE else 'el2'}):")
        for name, summary in registry.summaries():
            print(f"  {name:<12} {summary}")
    return EXIT_OK


def cmd_scenario(args) -> int:
    from . import scenarios
    from .scenarios import report
    if args.scenario_command == "list":
        for project, scs in scenarios.by_project().items():
            print(f"{project}:")
            for sc in scs:
                print(f"  {sc.name:<24} fix {sc.fix or '(none upstream)':<13} {sc.title}")
                for variant, (bug, desc) in sc.variants.items():
                    print(f"    --variant {variant:<13} {desc} (expect: {'bug' if bug else 'no bug'})")
        return EXIT_OK
    if bool(args.name) == args.all:
        raise FfaemuError("scenario run needs a scenario name or --all (not both)")
    chosen = list(scenarios.registry().values()) if args.all else [scenarios.get(args.name)]
    if args.all and args.variant:
        raise FfaemuError("--variant needs one scenario, not --all")
    text, rows, all_ok = args.format == "text", [], True
    for sc in chosen:
        for variant in scenarios.variants_to_run(sc, args.variant):
            trace: list[str] = []
            out = print if text else trace.append
            if text:
                print(f"== {sc.name} --variant {variant}: {sc.variants[variant][1]}")
            res = sc.run(variant, out)
            all_ok &= res.as_expected
            if text:
                mark = "as expected" if res.as_expected else "UNEXPECTED"
                print(f"verdict ({variant}, {mark}): {res.verdict}\n")
            rows.append(report.as_json(sc, res, trace))
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif args.format == "markdown":
        print(report.markdown(rows))
    return EXIT_OK if all_ok else EXIT_RUN_FAILED


def cmd_merge(args) -> int:
    """`ffaemu merge`: the shards' explore reports as the one unsharded report."""
    from .inputs import read_text
    from .shard import merge_explore
    docs = []
    for path in args.reports:
        try:
            docs.append(json.loads(read_text(path)))
        except ValueError:
            raise FfaemuError(f"{path}: not a JSON report of `explore --json --shard`") from None
    try:
        merged = merge_explore(docs)
    except (KeyError, TypeError, AttributeError, ValueError):
        raise FfaemuError("merge: the files are not `explore --json --shard I/N` reports") from None
    json.dump(merged, sys.stdout)
    sys.stdout.write("\n")
    return EXIT_RUN_FAILED if merged["failures"] else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    try:
        argv = sys.argv[1:] if argv is None else argv
        args = build_parser(argv).parse_args(argv)
        if getattr(args, "assembler", None):
            from .assembler import ASSEMBLER_ENV
            os.environ[ASSEMBLER_ENV] = args.assembler
        status = {"run": cmd_run, "debug": cmd_debug, "list": cmd_list, "scenario": cmd_scenario,
                  "explore": cmd_explore, "litmus": cmd_litmus, "merge": cmd_merge, "diff": qemu_commands.cmd_diff,
                  "firmware": qemu_commands.cmd_firmware}[args.command](args)
        sys.stdout.flush()
        return status
    except FfaemuError as e:
        print(f"ffaemu: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:                 # e.g. `ffaemu run ... | head`: stop quietly
        _discard_stdout()
        return EXIT_RUN_FAILED
    except OSError as e:                    # stdout on a full device (ENOSPC), EIO ...
        if e.filename is not None:
            raise
        _discard_stdout()
        print(f"ffaemu: error: cannot write standard output: {e.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT


def console_main() -> None:
    """The `ffaemu` script and `python -m ffaemu`: `main`, then a quick exit. After the
    output is flushed and the atexit handlers have run (the keystone worker stops), the
    interpreter's own teardown of every module and Unicorn object is skipped: it costs
    about 7 ms of a 3-instruction run and does nothing a user can see."""
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):           # a closed or broken stdout: the normal exit path
        sys.exit(status)
    import atexit
    atexit._run_exitfuncs()
    os._exit(status)


def _discard_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):           # stdout is not a real file (tests)
        pass


if __name__ == "__main__":
    console_main()
