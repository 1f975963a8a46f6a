"""The Unicorn machine: memory map, loading, reset at EL3, the run loop and its hooks.

One dispatcher per Unicorn hook type. Every exception Unicorn reports goes through
`_on_intr`: semihosting is served, then the exception is routed
(`arch.exceptions.route`) and either handed to a Python handler attached to the
target EL or taken architecturally into the vector table (`arch.exceptions.enter`).
"""
from __future__ import annotations

import enum
import types
import time
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Callable

from unicorn import (UC_ARCH_ARM64, UC_ERR_FETCH_UNMAPPED, UC_HOOK_CODE, UC_HOOK_EDGE_GENERATED,
                     UC_HOOK_INTR, UC_HOOK_MEM_FETCH_UNMAPPED,
                     UC_HOOK_MEM_READ_UNMAPPED, UC_HOOK_MEM_WRITE_PROT,
                     UC_HOOK_MEM_WRITE_UNMAPPED, UC_MEM_FETCH_UNMAPPED, UC_MEM_READ_UNMAPPED,
                     UC_MEM_WRITE_PROT, UC_MODE_ARM, UC_PROT_ALL, UC_PROT_EXEC, UC_PROT_READ, Uc,
                     UcError)
from unicorn import arm64_const as uca

from . import memmap, native, semihosting
from .arch.counter import PythonCounter
from .arch.cpu import Cpu
from .arch.exceptions import (A64, EC, ERET, INSN_BYTES, WFI, Routing, UcIntr, UnsupportedState,
                              describe_routing, enter, entry_pstate, eret_to_aarch32,
                              illegal_return, illegal_return_pstate, route, route_pc_alignment,
                              route_wfx_trap, syndrome_insn_address)
from .arch.sysregs import DAIF_ALL, FAR, HCR, PSTATE, mode_bits, pstate_el, sctlr_reg
from .checks import InsnChecks
from .errors import FfaemuError, ImageError
from .harness_memory import refuse_overlap
from .loader import Image, Segment
from .memory import PhysicalMemory
from .trace import _REC as _CALL_REC, _RET as _CALL_RET, MAX_CALL_RECORDS, CallTracer
from .trace import _full as _full_answer
from .native import TRAP_ESR, TRAP_HCR, TRAP_INFO, TRAP_INSN, TRAP_LOG, TRAP_PC, TRAP_PSTATE, TRAP_SCR
from .trap import SMCCC_ARG_REGS, Forward, Result, Resume, Return, Stop, Trap, Vector

CPU_MODELS = {"a72": uca.UC_CPU_ARM64_A72, "max": uca.UC_CPU_ARM64_MAX}
from .machine_limits import DEFAULT_MAX_INSNS, MAX_MAX_INSNS  # noqa: E402  (the CLI reads them without Unicorn)
# Every exception or model call handled in Python costs the budget this many instructions,
# so a guest that traps on every instruction ends in bounded time too (about 3 s for the
# default budget at ~30,000 Python traps per second).
TRAP_WEIGHT = 1000
STOP_NEVER = 0xFFFF_FFFF_FFFF_FFFC      # an `until` address no program reaches
# Where the harness region's protections change (read-only code and data, writable stacks).
HARNESS_CUTS = (memmap.HARNESS.base, memmap.HARNESS_STACKS.base, memmap.HARNESS_STACKS.end,
                memmap.HARNESS.end)
MAP_CHUNK = 2 << 20                     # flash and RAM are mapped on demand in 2 MiB chunks
# Reset: EL3h with DAIF masked (Arm ARM D1.9). NZCV are UNKNOWN at reset; QEMU (the
# reference) starts with Z=1 because its inverted ZF field is zeroed, and so do we.
RESET_PSTATE = mode_bits(3, spx=True) | DAIF_ALL | PSTATE.Z

# Harness layout inside memmap.HARNESS_BASE .. +HARNESS_SIZE.
TRAMPOLINE = memmap.HARNESS_BASE + 0x1000        # smc #0 ; eret  (EL2 model -> EL3)
RESUME = TRAMPOLINE + INSN_BYTES                  # where EL3's ERET lands
UNHANDLED_VECTORS = {3: memmap.HARNESS_BASE + 0x2000, 2: memmap.HARNESS_BASE + 0x2800,
                     1: memmap.HARNESS_BASE + 0x3000}
UNHANDLED_IMM = 0xFFA0                             # hlt #0xffa0 fills the harness vectors
HARNESS_CODE = (memmap.HARNESS_BASE, memmap.HARNESS_BASE + 0x4000)


MAX_RECORDS = 100_000                   # exceptions and calls kept per run; the rest counted
CALL_CLASSES = (EC.SMC64, EC.HVC64)      # exceptions that are SMCCC calls, for the call trace


def _with_values(xs: list[int], values: dict[int, int]) -> list[int]:
    """x0-x17 as the caller will see them: its registers with the handler's results."""
    out = list(xs[:SMCCC_ARG_REGS])         # `xs` may be the lean path's tuple
    for n, v in values.items():
        if n < SMCCC_ARG_REGS:
            out[n] = v & 0xFFFF_FFFF_FFFF_FFFF
    return out


def _handler_name(handler) -> str:
    return getattr(handler, "name", None) or getattr(handler, "__name__", "python")


class StopReason(str, enum.Enum):
    SEMIHOST_EXIT = "semihost-exit"
    SYSTEM_OFF = "system-off"
    BUDGET = "budget"
    FAULT = "fault"


class ModelError(FfaemuError):
    """A Python handler answered something that is not an action."""


@dataclass(slots=True)
class ExceptionRecord:
    """One exception as taken: for traces and `run --json`."""

    from_el: int
    to_el: int
    ec: EC
    esr: int
    elr: int
    spsr: int
    reason: str
    handler: str          # "vector" or "python"

    def as_json(self) -> dict:
        return {"from_el": self.from_el, "to_el": self.to_el, "class": self.ec.name,
                "esr": hex(self.esr), "elr": hex(self.elr), "spsr": hex(self.spsr)}


class _Exceptions(Sequence):
    """RunResult.exceptions: the machine's exception records as the run left them, made
    into ExceptionRecords when first read (most runs never read them)."""

    def __init__(self, machine):
        self._machine, self._parts = machine, (list(machine._exceptions), list(machine._exc_parts))
        self._list = None

    def _records(self) -> list:
        if self._list is None:
            m = self._machine
            saved = m._exceptions, m._exc_parts
            try:
                self._list = m._materialize(*self._parts)
            finally:
                m._exceptions, m._exc_parts = saved
            self._parts = None
        return self._list

    def __len__(self) -> int:
        return len(self._records())

    def __getitem__(self, i):
        return self._records()[i]

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def __repr__(self) -> str:
        return repr(self._records())


class _ModelTrapRecord:
    """An exception taken to a Python model by the lean trap path, kept as the arguments
    of `route` until `Machine.exceptions` is read."""

    __slots__ = ("route_args", "handler")

    def __init__(self, route_args: tuple, handler: str):
        self.route_args = route_args      # (intno, pstate, pc, insn, scr, hcr)
        self.handler = handler

    def record(self) -> ExceptionRecord:
        r = route(*self.route_args)
        return ExceptionRecord(r.from_el, r.to_el, r.ec, r.esr, r.elr, self.route_args[1],
                               r.reason, self.handler)


_new = object.__new__
# _on_model_trap unpacks the words after x0-x17 in this order (native.TRAP_*).
assert (TRAP_PC, TRAP_PSTATE, TRAP_SCR, TRAP_HCR, TRAP_INSN, TRAP_INFO, TRAP_ESR, TRAP_LOG) == \
    tuple(range(SMCCC_ARG_REGS, SMCCC_ARG_REGS + 8))
_EC_OF = {ec.value: ec for ec in EC}      # a dict lookup is cheaper than EC(value)
_write_pos = native.write_pos
_CALL_ECS = frozenset(int(ec) for ec in CALL_CLASSES)     # raw EC values, as C passes them
_HYP_TRAP = int(UcIntr.HYP_TRAP)          # a plain int: enum attribute lookups cost per trap
# An EL2 model's SMC to EL3 from the harness trampoline: always the same routing.
FORWARD_ROUTING = Routing(EC.SMC64, 0, 2, 3, RESUME, "SMC (from the EL2 model)")
FORWARD_SPSR = entry_pstate(2)
FORWARD_ESR = FORWARD_ROUTING.esr
MASK64 = 0xFFFF_FFFF_FFFF_FFFF
_MASK64_AND = MASK64.__and__            # map(_MASK64_AND, values): 64-bit, without a comprehension
_FORWARD_RECORD = object()      # in _exc_parts: the record of a forward a Python EL3 answered


def _forward_record() -> ExceptionRecord:
    return ExceptionRecord(2, 3, EC.SMC64, FORWARD_ESR, RESUME, FORWARD_SPSR,
                           FORWARD_ROUTING.reason, "python")


@dataclass
class RunResult:
    reason: StopReason
    code: int | None
    message: str
    el: int
    regs: dict[str, int]
    console: str
    exceptions: list[ExceptionRecord] = field(default_factory=list)
    calls: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.reason == StopReason.SEMIHOST_EXIT and self.code == 0) or \
            self.reason == StopReason.SYSTEM_OFF


class _Halt(Exception):
    """Raised inside a hook after a Stop action, to unwind a model's generator."""


Handler = Callable[[Trap], object]


class Machine:
    """An AArch64 CPU with EL3/EL2/EL1 on a QEMU-virt-like memory map."""

    def __init__(self, cpu: str = "a72", ram_size: int = memmap.DEFAULT_RAM_SIZE,
                 max_insns: int = DEFAULT_MAX_INSNS, console: Callable[[str], None] | None = None,
                 trace: Callable[[str], None] | None = None,
                 events: Callable[[dict], None] | None = None, timeout: float | None = None):
        if cpu not in CPU_MODELS:
            raise FfaemuError(f"unknown CPU model '{cpu}' (choose from: {', '.join(CPU_MODELS)})")
        if not 0 < max_insns <= MAX_MAX_INSNS:
            raise FfaemuError(f"--max-insns must be between 1 and {MAX_MAX_INSNS}, not {max_insns}")
        if timeout is not None and not 0 < timeout <= 86400:
            raise FfaemuError(f"--timeout must be between 0 and 86400 seconds, not {timeout}")
        if ram_size <= 0 or ram_size % 0x1000 or memmap.RAM_BASE + ram_size > 1 << 40:
            raise FfaemuError(f"RAM size {ram_size:#x} must be a positive multiple of 4 KiB, at most "
                              f"{(1 << 40) - memmap.RAM_BASE:#x}")
        self.uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        self.uc.ctl_set_cpu_model(CPU_MODELS[cpu])
        self.cpu = Cpu(self.uc)
        self.memory = PhysicalMemory(self.uc, ram_size, self.ensure_mapped)
        self.ram_size = ram_size
        self.max_insns = max_insns
        self.timeout = timeout
        self._deadline: float | None = None
        self.traps = 0                  # exceptions and model calls handled in Python
        self._misaligned_pc: int | None = None
        self.console = bytearray()
        self._console_sink = console
        self._trace = trace
        self.calls = CallTracer(trace, events)
        self._events = events
        self._exceptions: list[ExceptionRecord] = []
        self._exc_parts: list = []        # raw native words and records not yet in _exceptions
        self._recorded = 0
        self.exceptions_dropped = 0       # beyond MAX_RECORDS only counted
        self.images: list[Image] = []
        self.harness_images: list[Image] = []      # boot stubs, trampolines: for symbols only
        self._handlers: dict[int, Handler] = {}
        self._handler_names: dict[int, str] = {}      # for the call trace
        self._stop: Stop | None = None
        self._last_vector: tuple[int, Routing] | None = None
        self._last_raised: int | None = None
        self._pending = None            # (trap, record, generator) while EL3 assembly runs
        self._harness_ready = False
        self._started = False
        self._paused = False
        self._debug = None              # a debugger (see enable_debug), or None
        self._skip_once: int | None = None
        self._in_model_trap = False     # inside _on_model_trap: results go back through C
        self.insns = 0                  # instructions run (counted only when debugging)
        self._map()
        self.native = native.attach(self)          # the C fast path, or None
        self.counter = self.native or PythonCounter(self.uc, self.cpu)   # .insns: virtual clock
        self.checks = InsnChecks(self)                # FP traps, SCTLR.A: what Unicorn skips
        if self.native is not None and (trace or events):
            self.native.set_all_python(True)       # traces see every exception
        self._hooks()

    # Set-up -------------------------------------------------------------------------
    def _map(self) -> None:
        """The UART now; flash and RAM chunk by chunk on first use (`ensure_mapped`).

        Mapping 512 MiB of RAM up front costs more than the rest of a machine's start;
        a chunk is mapped when code, a loader or a model first touches it, and reads
        as zeros, as fresh RAM and erased flash do here.
        """
        self.uc.mmio_map(memmap.UART_BASE, memmap.UART_SIZE, self._uart_read, None,
                         self._uart_write, None)
        self._lazy = [(memmap.FLASH_BASE, memmap.FLASH_SIZE, UC_PROT_READ | UC_PROT_EXEC),
                      (memmap.RAM_BASE, self.ram_size, UC_PROT_ALL)]
        self._mapped: set[int] = set()

    def ensure_mapped(self, addr: int, size: int) -> bool:
        """Map the flash/RAM chunks that [addr, addr+size) touches; False if outside them."""
        end = addr + max(size, 1)
        for base, length, prot in self._lazy:
            if base <= addr and end <= base + length:
                first = addr - (addr - base) % MAP_CHUNK
                for chunk in range(first, end, MAP_CHUNK):
                    if chunk not in self._mapped:
                        self._map_range(chunk, min(chunk + MAP_CHUNK, base + length), prot)
                        self._mapped.add(chunk)
                return True
        return False

    def _map_range(self, start: int, end: int, prot: int) -> None:
        """uc.mem_map [start, end) as separate regions cut where the harness region's
        protections will differ (`_protect_harness`): Unicorn 2.1.4's mem_protect of part
        of a region splits it by copying it (about 2 ms for a 2 MiB chunk, twice per
        machine), while protecting a whole region only changes its flags."""
        cuts = [a for a in HARNESS_CUTS if start < a < end]
        for lo, hi in zip([start] + cuts, cuts + [end]):
            self.uc.mem_map(lo, hi - lo, prot)

    def map_everything(self) -> None:
        """Map every flash/RAM chunk not mapped yet, in as few regions as possible."""
        for base, length, prot in self._lazy:
            start = None
            for chunk in range(base, base + length + MAP_CHUNK, MAP_CHUNK):
                free = chunk < base + length and chunk not in self._mapped
                if free and start is None:
                    start = chunk
                elif not free and start is not None:
                    end = min(chunk, base + length)
                    self._map_range(start, end, prot)
                    self._mapped.update(range(start, end, MAP_CHUNK))
                    start = None

    # Snapshot restarts (snapshot.py) ----------------------------------------------------
    def snapshot(self):
        """Save CPU, memory, run state and the attached models' state; everything is
        mapped first. `restore(snap)` puts it all back, so the machine can run again."""
        from .snapshot import Snapshot
        self._snapshot = Snapshot(self)
        return self._snapshot

    def restore(self, snap=None) -> None:
        """Back to `snap` (default: the last snapshot taken)."""
        snap = snap or getattr(self, "_snapshot", None)
        if snap is None or snap.machine is not self:
            raise FfaemuError("restore() needs a snapshot of this machine")
        snap.restore()

    def _hooks(self) -> None:
        if self.native is None:            # else the C hook calls _on_intr when it must
            self.uc.hook_add(UC_HOOK_INTR, self._on_intr)
        self.uc.hook_add(UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED |
                         UC_HOOK_MEM_FETCH_UNMAPPED | UC_HOOK_MEM_WRITE_PROT, self._on_bad_access)
        self.uc.hook_add(UC_HOOK_CODE, self._on_resume, begin=RESUME, end=RESUME)
        self.uc.hook_add(UC_HOOK_EDGE_GENERATED, self._on_new_block)

    def _on_new_block(self, uc, cur, prev, _):
        """A block is about to be translated: a misaligned start is a PC alignment fault,
        taken by `resume` before any of it runs (Unicorn's QEMU 5 core does not check)."""
        if cur.pc & 3:
            self._misaligned_pc = cur.pc
            uc.emu_stop()

    def load(self, image: Image) -> Image:
        """Place an image's segments in memory; raise ImageError if one does not fit or
        overlaps another segment, another image or (once installed) the harness."""
        for seg in image.segments:
            self._check_fits(seg.addr, seg.memsz, image.name)
        self._check_no_overlap(image)
        if self._harness_ready:
            refuse_overlap(image)
        for seg in image.segments:          # bytes past p_filesz up to p_memsz are zero (bss)
            self.ensure_mapped(seg.addr, seg.memsz)
            self.uc.mem_write(seg.addr, seg.data + bytes(seg.memsz - len(seg.data)))
            self._hook_erets(seg)
        self.images.append(image)
        return image

    def _hook_erets(self, seg) -> None:
        """Watch every ERET in loaded code (see `_on_eret`); legal ones still run natively."""
        word = ERET.to_bytes(4, "little")
        data = seg.data
        at = data.find(word)
        while at >= 0:
            if at % 4 == 0:
                addr = seg.addr + at
                if self.native is not None:
                    self.native.hook_eret(addr)
                else:
                    self.uc.hook_add(UC_HOOK_CODE, self._on_eret, begin=addr, end=addr)
            at = data.find(word, at + 1)

    def _check_fits(self, addr: int, size: int, what: str) -> None:
        ok = [r for r in memmap.regions(self.ram_size) if r.name != "uart" and r.contains(addr, size)]
        if not ok:
            raise ImageError(f"{what}: segment {addr:#x}-{addr + size - 1:#x} does not fit the "
                             f"memory map ({memmap.describe(self.ram_size)})")

    def _check_no_overlap(self, image: Image) -> None:
        """Segments may not overlap each other or any image already loaded."""
        placed = [(seg, img.name) for img in self.images for seg in img.segments]
        for seg in image.segments:
            for other, name in placed:
                if seg.addr < other.end and other.addr < seg.end:
                    whose = "another segment of the same image" if name is image.name else f"image {name}"
                    raise ImageError(f"{image.name}: segment {seg.addr:#x}-{seg.end - 1:#x} overlaps "
                                     f"{whose} at {other.addr:#x}-{other.end - 1:#x}")
            placed.append((seg, image.name))

    def write_harness(self, addr: int, code: bytes) -> None:
        """Place harness code (boot stubs, trampolines); never inside the user range."""
        if not (memmap.HARNESS_BASE <= addr and addr + len(code) <= memmap.HARNESS_BASE + memmap.HARNESS_SIZE):
            raise ValueError(f"harness code at {addr:#x} is outside the harness region")
        for image in self.images:
            refuse_overlap(image)
        self.ensure_mapped(addr, len(code))
        self.uc.mem_write(addr, code)

    def _install_harness(self) -> None:
        if self._harness_ready:
            return
        smc0 = A64.SMC.encode(0).to_bytes(4, "little")
        eret = ERET.to_bytes(4, "little")
        self.write_harness(TRAMPOLINE, smc0 + eret)
        unhandled = A64.HLT.encode(UNHANDLED_IMM).to_bytes(4, "little") * (0x800 // 4)
        for base in UNHANDLED_VECTORS.values():
            self.write_harness(base, unhandled)
        self.harness_images.append(Image(
            [Segment(TRAMPOLINE, smc0 + eret)], TRAMPOLINE,
            {"harness_forward_smc": TRAMPOLINE, "harness_resume_eret": RESUME}, "<harness>"))
        for el, base in UNHANDLED_VECTORS.items():
            self.harness_images.append(Image([Segment(base, unhandled)], base,
                                             {f"harness_vectors_el{el}": base}, "<harness>"))
        self._protect_harness()
        self._harness_ready = True

    def _protect_harness(self) -> None:
        """Guest code may read the harness region but not write it (its stacks excepted):
        a write faults in `_on_bad_access`. Harness and models write with uc.mem_write,
        which page protections do not stop."""
        h, stacks = memmap.HARNESS, memmap.HARNESS_STACKS
        self.ensure_mapped(h.base, h.size)
        ro = UC_PROT_READ | UC_PROT_EXEC
        self.uc.mem_protect(h.base, stacks.base - h.base, ro)
        self.uc.mem_protect(stacks.end, h.end - stacks.end, ro)

    def attach(self, el: int, handler: Handler) -> None:
        """Have `handler` take the synchronous exceptions routed to `el` from lower ELs."""
        if el not in (2, 3):
            raise ValueError("Python handlers model EL2 or EL3")
        self._install_harness()
        self._handlers[el] = handler
        self._handler_names[el] = _handler_name(handler)
        if self.native is not None:
            self.native.set_python_els(self._handlers)
        bind = getattr(handler, "bind", None)
        if bind is not None:
            bind(self)
        if el == 2 and hasattr(handler, "caller"):      # a hypervisor running several vCPUs
            self.calls.context = handler.caller

    def boot_guest(self, guest_entry: int, *, el3: Handler | None = None,
                   el2: Handler | None = None, traps_smc: bool = False,
                   vbar_el3: int | None = None, vbar_el2: int | None = None,
                   el2_entry: int | None = None) -> int:
        """Install the EL3->EL2->EL1 boot stubs for an EL1 guest; return the entry to run.

        The stubs run as real instructions; `el3`/`el2` Python handlers (if any) then
        take the exceptions routed to their EL. HCR_EL2.TSC is set when `traps_smc`.
        `vbar_el3`/`vbar_el2` point at assembly vector tables (default: the harness's,
        which report any exception a Python model does not take as a fault);
        `el2_entry` is an EL2 image's entry, run instead of the EL2 stub.
        """
        from .boot import BOOT_BASE, BootConfig, boot_code
        self._install_harness()
        for el, handler in ((3, el3), (2, el2)):
            if handler is not None:
                self.attach(el, handler)
        hcr = HCR.RW | (HCR.TSC if traps_smc else 0)
        stub = boot_code(BootConfig(guest_entry, vbar_el3 or UNHANDLED_VECTORS[3],
                                    vbar_el2 or UNHANDLED_VECTORS[2], hcr, el2_entry=el2_entry))
        if BOOT_BASE + len(stub.code) > TRAMPOLINE:
            raise AssertionError("boot stub overflows into the trampoline")
        self.write_harness(BOOT_BASE, stub.code)
        self.harness_images.append(Image([Segment(BOOT_BASE, stub.code)], BOOT_BASE, stub.labels,
                                         "<boot stub>", lines=stub.lines))
        return BOOT_BASE

    def watch(self, addr: int, callback: Callable[["Machine"], None]) -> None:
        """Call `callback(machine)` each time the instruction at `addr` is about to run."""
        self.uc.hook_add(UC_HOOK_CODE, lambda uc, a, size, _: callback(self), begin=addr, end=addr)

    def insn_text(self, addr: int) -> str:
        """The disassembly of the instruction at `addr` (capstone)."""
        return self._insn_text(addr)

    def source_line(self, addr: int, short: bool = False) -> str | None:
        """file:line of the instruction at `addr` (assembler line table or DWARF), if known;
        `short`: the file's name without its directory (for traces)."""
        for image in self.images:
            line = image.source_line(addr)
            if line:
                return line.rsplit("/", 1)[-1] if short else line
        return None

    def symbolize(self, addr: int) -> str | None:
        for image in self.images + self.harness_images:
            name = image.symbolize(addr)
            if name:
                return name
        return None

    # Running --------------------------------------------------------------------------
    def reset(self, entry: int) -> None:
        """Reset state: EL3h, DAIF masked, PC at entry; SCR_EL3 = HCR_EL2 = 0 as Unicorn starts."""
        self.cpu.set_pstate_and_spsr(RESET_PSTATE, 3, spsr=0)
        self.cpu.pc = entry

    def run(self, entry: int | None = None) -> RunResult:
        """Run from EL3 at `entry` (default: the last image's entry) until a stop.

        A Machine runs once: its memory and registers are left as the run ended them.
        """
        self.start(entry)
        result = self.resume()
        while result is None:                  # paused by a debugger that is not driving
            result = self.resume()
        return result

    def start(self, entry: int | None = None) -> None:
        """Reset to EL3 at `entry`; `resume` then runs until a stop or a debugger pause."""
        if self._stop is not None or self._started:
            raise FfaemuError("this machine has already run; create a new Machine")
        if entry is None:
            if not self.images:
                raise FfaemuError("nothing to run: load an image first")
            entry = self.images[-1].entry
        self.reset(entry)
        self._started = True
        if self.timeout is not None:
            self._deadline = time.monotonic() + self.timeout

    def resume(self) -> RunResult | None:
        """Run on from the current PC; None if a debugger paused, else the run's result."""
        if self._stop is not None:
            return self._result()
        self._paused = False
        from .gcpolicy import RunPace
        try:
            with RunPace():
                while self._emulate():
                    pass
        except UcError as e:
            if self._stop is None:
                self._stop = Stop(StopReason.FAULT.value, None, f"{self._where()}: {e}")
        except (UnsupportedState, semihosting.SemihostingError) as e:
            self._stop = Stop(StopReason.FAULT.value, None, f"{self._where()}: {e}")
        except _Halt:
            pass
        if self.native is not None:
            self.native.drain()
        if self._paused and self._stop is None:
            return None
        if self._stop is None:
            self._stop = self._why_emulation_ended()
        return self._result()

    def _emulate(self) -> bool:
        """One emu_start; True when it must go on (a PC alignment fault was taken)."""
        if self.cpu.pc & 3:
            self._misaligned_pc = self.cpu.pc
        else:
            timeout_us = 0
            if self._deadline is not None:
                timeout_us = max(1, int((self._deadline - time.monotonic()) * 1e6))
            count = self.max_insns if self._debug is None else 0
            self.uc.emu_start(self.cpu.pc, STOP_NEVER, timeout=timeout_us, count=count)
        if self.native is not None and self.native.error is not None:
            error, self.native.error = self.native.error, None
            raise error
        if self.checks.rearm and self._stop is None and not self._paused and self._charge():
            self.checks.arm()
            if self._misaligned_pc is None:
                return True
        pc, self._misaligned_pc = self._misaligned_pc, None
        if pc is None or self._stop is not None or self._paused or not self._charge():
            return False
        self.uc.ctl_remove_cache(pc, pc + INSN_BYTES)
        cpu = self.cpu
        self.cpu.pc = pc
        r = route_pc_alignment(cpu.pstate, pc, cpu.scr_el3, cpu.hcr_el2)
        self.uc.reg_write(FAR[r.to_el], pc)
        self._vector(r, cpu.pstate, pc)
        return self._stop is None

    def take(self, r: Routing) -> None:
        """Take exception `r` now, from a code hook, as the hardware would (counted in the budget)."""
        if not self._charge():
            return
        if self.native is not None:
            self.native.drain()
        self._vector(r, self.cpu.pstate, r.elr)

    def _why_emulation_ended(self) -> Stop:
        """Unicorn returned with no stop recorded: a time limit, WFI, or the budget."""
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return Stop(StopReason.BUDGET.value, None, f"time limit of {self.timeout:g} s (--timeout) "
                        f"reached at {self._where()}")
        pc = self.cpu.pc
        if self.memory.read(pc - INSN_BYTES, 4) == WFI.to_bytes(4, "little"):
            return Stop(StopReason.FAULT.value, None,
                        f"{self._where(pc - INSN_BYTES)}: WFI with no interrupt source modelled: "
                        "the CPU would wait forever (QEMU 7.2 does); WFE is a no-op")
        return Stop(StopReason.BUDGET.value, None, f"instruction budget of {self.max_insns} exhausted "
                    f"at {self._where()} (runaway code? raise --max-insns)")

    def _charge(self) -> bool:
        """Count one exception or model call handled in Python against the budget
        (TRAP_WEIGHT instructions each); False, with the run stopped, when it is spent."""
        self.traps += 1
        if self.traps * TRAP_WEIGHT <= self.max_insns:
            return True
        self.stop(StopReason.BUDGET, None,
                  f"instruction budget of {self.max_insns} exhausted at {self._where()}: "
                  f"{self.traps - 1} exceptions and model calls handled in Python, each counted "
                  f"as {TRAP_WEIGHT} instructions (a trap loop? raise --max-insns)")
        return False

    # Debugging ------------------------------------------------------------------------
    def enable_debug(self, debugger) -> None:
        """Call `debugger.on_insn(addr)` before every instruction (slow: opt-in) and
        `debugger.on_exception(routing, spsr, how)` at every exception; either may `pause()`."""
        self._debug = debugger
        if self.native is not None:
            self.native.set_all_python(True)
        self.uc.hook_add(UC_HOOK_CODE, self._on_insn)

    def pause(self) -> None:
        """Stop before the next instruction (from a debugger callback)."""
        self._paused = True
        self.uc.emu_stop()

    def _on_insn(self, uc, addr, size, _):
        if self._skip_once == addr:
            self._skip_once = None             # the instruction we paused before: run it now
            return
        self._skip_once = None
        self.insns += 1
        if self.insns > self.max_insns:
            self.stop(StopReason.BUDGET, None, f"instruction budget of {self.max_insns} exhausted "
                      f"at {self._where()} (runaway code? raise --max-insns)")
            return
        if self._debug.on_insn(addr):
            self._skip_once = addr
            self.pause()

    def _result(self) -> RunResult:
        regs = {f"x{i}": v for i, v in enumerate(self.cpu.xs())}
        regs.update(sp=self.cpu.sp, pc=self.cpu.pc, pstate=self.cpu.pstate)
        return RunResult(StopReason(self._stop.reason), self._stop.code, self._stop.message,
                         pstate_el(regs["pstate"]), regs, self.console.decode("latin-1"),
                         _Exceptions(self), self.calls.view())

    def stop(self, reason: StopReason, code: int | None, message: str) -> None:
        if self._stop is None:
            self._stop = Stop(reason.value, code, message)
        self.uc.emu_stop()

    # Console --------------------------------------------------------------------------
    def _emit(self, data: bytes) -> None:
        self.console += data
        if self._console_sink:
            self._console_sink(data.decode("latin-1"))

    _PL011_FR = 0x18
    _PL011_FR_TXFE_RXFE = 0x90     # TX FIFO empty, RX FIFO empty (PL011 TRM 3.3.3)

    def _uart_read(self, uc, offset, size, _):
        return self._PL011_FR_TXFE_RXFE if offset == self._PL011_FR else 0

    def _uart_write(self, uc, offset, size, value, _):
        if offset == 0:                 # UARTDR
            self._emit(bytes([value & 0xFF]))

    # Diagnostics ----------------------------------------------------------------------
    def _insn_text(self, addr: int) -> str:
        try:
            word = bytes(self.uc.mem_read(addr, 4))
        except UcError:
            return "<unmapped>"
        from .disasm import disassemble_one
        return disassemble_one(word, addr)

    def _where(self, pc: int | None = None) -> str:
        pc, pstate = self.cpu.pc if pc is None else pc, self.cpu.pstate
        sym = self.symbolize(pc)
        return (f"EL{pstate_el(pstate)} PC={pc:#x}{f' <{sym}>' if sym else ''} "
                f"`{self._insn_text(pc)}`")

    def _on_bad_access(self, uc, access, addr, size, value, _):
        if access != UC_MEM_WRITE_PROT and self.ensure_mapped(addr, size):
            return True                   # first touch of flash/RAM: mapped, retry
        if self.native is not None:
            self.native.drain()
        last = self._last_vector
        if access == UC_MEM_FETCH_UNMAPPED and last and last[0] == addr:
            r = last[1]
            msg = (f"exception vector unmapped: {r.ec.name} from EL{r.from_el} to EL{r.to_el} "
                   f"branched to VBAR_EL{r.to_el}+{addr - self.cpu.vbar(r.to_el):#x} = {addr:#x}")
        elif access == UC_MEM_FETCH_UNMAPPED:
            msg = f"EL{self.cpu.el}: instruction fetch from unmapped address {addr:#x}"
        elif access == UC_MEM_WRITE_PROT and memmap.overlaps(addr, size, memmap.HARNESS):
            msg = (f"{self._where()}: {size}-byte write to {memmap.describe_harness(addr)}, "
                   "which guest code may not write")
        else:
            kind = {UC_MEM_READ_UNMAPPED: "read of unmapped", UC_MEM_WRITE_PROT:
                    "write to read-only flash at"}.get(access, "write to unmapped")
            msg = f"{self._where()}: {size}-byte {kind} address {addr:#x}"
        self._stop = Stop(StopReason.FAULT.value, None, msg)
        return False

    # Exceptions -----------------------------------------------------------------------
    def _read32(self, addr: int) -> int:
        return int.from_bytes(self.uc.mem_read(addr, 4), "little")

    def _on_intr(self, uc, intno, _):
        cpu = self.cpu
        back = INSN_BYTES if intno in (UcIntr.SWI, UcIntr.HVC, UcIntr.SMC) else 0
        if self.native is not None:
            xs, pc, pstate, scr, hcr, insn = self.native.read_trap(back)
            if insn is None:
                raise UcError(UC_ERR_FETCH_UNMAPPED)
        else:
            xs, pc, pstate = None, cpu.pc, cpu.pstate
            scr, hcr = cpu.scr_el3, cpu.hcr_el2
            insn = self._read32(pc - back)
        insn_addr = syndrome_insn_address(intno, pc)
        el = pstate_el(pstate)
        if not self._charge():
            return
        if intno == UcIntr.UDEF and not pstate & PSTATE.IL:
            if insn == semihosting.HLT_SEMIHOSTING and el >= 1:
                return self._semihost()
            if insn == A64.HLT.encode(UNHANDLED_IMM) and self._unhandled_el(pc) is not None:
                return self._unhandled(pc)
        r = route(intno, pstate, pc, insn, scr, hcr)
        if intno == UcIntr.UDEF and r.ec == EC.UNKNOWN:
            r = route_wfx_trap(insn, pstate, pc, scr, hcr, cpu.sysreg(sctlr_reg(1))) or r
        handler = self._handlers.get(r.to_el) if r.from_el < r.to_el else None
        if handler is not None and not (r.to_el == 3 and self._pending and pc == RESUME):
            trap = Trap(r, pstate, xs if xs is not None else cpu.xs(SMCCC_ARG_REGS), insn_addr,
                        self.memory)
            rec = self._record(r, pstate, "python")
            try:
                self._dispatch(trap, handler, rec)
            except _Halt:
                self.uc.emu_stop()
            return
        self._vector(r, pstate, pc, insn_addr)

    def _on_model_trap(self, t: tuple[int, ...]) -> None:
        """The lean trap path (fastpath.c model_trap): an SVC/HVC/SMC that C routed to an
        EL with a Python model; `t` holds x0-x17, PC, PSTATE, SCR_EL3, HCR_EL2, the
        instruction, from/to/EC, ESR and the C log's count (native.TRAP_WORDS). Results
        go back through shared memory.

        The common case, a model that answers with `trap.ret(...)` and nobody tracing or
        debugging, runs here in one function with locals bound once: the budget check,
        the exception record (a tuple), the call record (a list, with the answer as
        given) and the answer written to the C hook's words. Everything else (generators,
        Resume, Stop, Vector, traces, a debugger) goes on through `_drive`/`_finish` or
        `_dispatch`."""
        pc, pstate, scr, hcr, insn, info, esr, log = t[TRAP_PC:]     # native.TRAP_* order
        if log:
            self.native.drain()
        to_el, intno = (info >> 8) & 0xFF, info >> 24
        if to_el == 3 and self._pending and pc == RESUME:
            return self._on_intr(self.uc, intno, None)     # the trampoline's SMC: vectored
        traps = self.traps + 1
        if traps * TRAP_WEIGHT > self.max_insns:
            self._charge()                      # counts it and stops the run, with the message
            return
        self.traps = traps
        # The exception record is kept as `route`'s arguments (a tuple; see _materialize).
        rec = (intno, pstate, pc, insn, scr, hcr)
        if self._recorded < MAX_RECORDS:
            self._exc_parts.append(rec)
            self._recorded += 1
        else:
            self._keep_record(rec)
        xs = t[:SMCCC_ARG_REGS]
        ec = (info >> 16) & 0xFF
        trap = _new(Trap)                  # Trap.lazy, inline: one call less per trap
        trap._x, trap._routing, trap._route_args = xs, None, rec
        trap.ec, trap.esr, trap.elr, trap.spsr = _EC_OF[ec], esr, pc, pstate
        trap.from_el, trap.to_el, trap.mem = info & 0xFF, to_el, self.memory
        trap.insn_addr = pc if intno == _HYP_TRAP else pc - INSN_BYTES
        calls = self.calls
        self._in_model_trap = True
        try:
            if self._trace is not None or calls.events is not None or calls.context is not None \
                    or self._debug is not None:
                return self._dispatch(trap, self._handlers[to_el], rec)
            entry = None
            if ec in _CALL_ECS:                 # CallTracer.enter without a sink or context;
                opened = calls._open            # opened only if the answer is not at once
                entry = [info & 0xFF, to_el, self._handler_names[to_el], xs, None, None,
                         len(opened), None]
                if len(calls._log) < MAX_CALL_RECORDS:
                    calls._log.append(entry)
                else:
                    calls.dropped += 1
            act = self._handlers[to_el](trap)
            if type(act) is not Return:
                if entry is not None:
                    opened.append(entry)
                if isinstance(act, types.GeneratorType):
                    return self._drive(trap, rec, act, None, entered=False)
                return self._finish(trap, rec, act, entered=False)
            pos = act.pos
            if pos is None:
                out = self.native.set_answer(xs, act._values, act.pc)
            else:                               # kept as given: trace.py _full
                out = _write_pos(self.native._res, pos, act.pc)
            if entry is not None:
                entry[_CALL_RET] = out          # CallTracer.leave
                if entry[_CALL_REC] is not None:     # read while the model ran: complete it
                    opened.append(entry)
                    calls.leave(out, True)
        except _Halt:
            self.uc.emu_stop()
        finally:
            self._in_model_trap = False

    def _keep_record(self, rec):
        """Keep `rec` (an ExceptionRecord or a compact form) unless MAX_RECORDS are kept."""
        if self._recorded < MAX_RECORDS:
            self._exc_parts.append(rec)
        self._recorded += 1
        if self._recorded > MAX_RECORDS:
            self.exceptions_dropped = self._recorded - MAX_RECORDS
        return rec

    def _on_eret(self, uc, addr, size, _):
        """Before an ERET: carry out an illegal return exactly, refuse AArch32 targets.

        Unicorn's QEMU core ignores PSTATE.IL when translating, so after an illegal
        return (D1.11.3) the instruction at ELR would simply run. On hardware (and QEMU
        7.2) that instruction raises an Illegal Execution state exception (EC 0x0E)
        before executing, so it is taken here: SPSR holds the illegal-return PSTATE
        (IL=1, EL and SP unchanged), ELR the return address.
        """
        cpu = self.cpu
        pstate = cpu.pstate
        el = pstate_el(pstate)
        if el == 0:
            return                                 # ERET at EL0 is UNDEFINED: QEMU raises it
        spsr = cpu.spsr(el)
        if eret_to_aarch32(spsr):
            self.stop(StopReason.FAULT, None,
                      f"{self._where()}: ERET to AArch32 (SPSR_EL{el}={spsr:#x}); only AArch64 "
                      "is modelled")
            return
        why = illegal_return(spsr, el, cpu.scr_el3, cpu.hcr_el2)
        if why is None:
            return
        if self._trace:
            self._trace(f"[eret] illegal exception return at EL{el} ({addr:#x}): {why}; "
                        "PSTATE.IL is set and EL stays the same")
        after = illegal_return_pstate(pstate, spsr)
        cpu.set_pstate_and_spsr(after, el, spsr)
        target = cpu.elr(el)
        self._vector(route(UcIntr.UDEF, after, target, 0, cpu.scr_el3, cpu.hcr_el2), after, target)

    _NATIVE_REASONS = {UcIntr.SWI: "SVC", UcIntr.HVC: "HVC (SCR_EL3.HCE=1)",
                       UcIntr.HYP_TRAP: "HCR_EL2.TSC", UcIntr.SMC: "SMC"}

    def _record_native(self, raw) -> None:
        """Exceptions the C fast path took into vectors (native/fastpath.c), as raw words:
        kept compact until `exceptions` is read."""
        entries = len(raw) // 8
        room = MAX_RECORDS - self._recorded
        if room > 0:
            self._exc_parts.append(raw[:8 * min(entries, room)])
        self._recorded += entries
        self.exceptions_dropped = max(0, self._recorded - MAX_RECORDS)
        from_el, to_el, ec, esr, elr, _, intno, vector = raw[-8:]
        self._last_vector = (vector, Routing(EC(ec), esr & 0xFFFF, from_el, to_el, elr,
                                             self._native_reason(intno, from_el, to_el)))
        # SVC/HVC/SMC return past themselves, except an SMC trapped to EL2 (HCR_EL2.TSC),
        # whose ELR is the SMC (Arm ARM D1.10.1, preferred exception return address).
        calls = intno in (UcIntr.SWI, UcIntr.HVC, UcIntr.SMC) and not (ec == EC.SMC64 and to_el == 2)
        self._last_raised = elr - INSN_BYTES if calls else elr

    def _native_reason(self, intno: int, from_el: int, to_el: int) -> str:
        if intno == UcIntr.SWI and from_el == 0 and to_el == 2:
            return "HCR_EL2.TGE"
        return self._NATIVE_REASONS[intno]

    @property
    def exceptions(self) -> list[ExceptionRecord]:
        """Every exception taken (the first MAX_RECORDS), in order."""
        return self._materialize(self._exceptions, self._exc_parts)

    def _materialize(self, done: list, parts: list) -> list[ExceptionRecord]:
        """`done` with the records of the compact `parts` appended (and `parts` emptied)."""
        self._exceptions, self._exc_parts = done, parts
        if self._exc_parts:
            for part in self._exc_parts:
                if isinstance(part, ExceptionRecord):
                    self._exceptions.append(part)
                    continue
                if isinstance(part, _ModelTrapRecord):
                    self._exceptions.append(part.record())
                    continue
                if part is _FORWARD_RECORD:
                    self._exceptions.append(_forward_record())
                    continue
                if isinstance(part, tuple):           # the lean trap path's route arguments
                    self._exceptions.append(_ModelTrapRecord(part, "python").record())
                    continue
                for i in range(0, len(part), 8):
                    f, t, ec, esr, elr, spsr, intno, _ = part[i:i + 8]
                    self._exceptions.append(ExceptionRecord(f, t, EC(ec), esr, elr, spsr,
                                                            self._native_reason(intno, f, t), "vector"))
            self._exc_parts.clear()
        return self._exceptions

    def _record(self, r: Routing, spsr: int, how: str) -> ExceptionRecord:
        rec = ExceptionRecord(r.from_el, r.to_el, r.ec, r.esr, r.elr, spsr, r.reason, how)
        if self._recorded < MAX_RECORDS:
            self._exc_parts.append(rec)
        self._recorded += 1
        self.exceptions_dropped = max(0, self._recorded - MAX_RECORDS)
        if self._debug is not None:
            self._debug.on_exception(r, spsr, how)
        if self._events:
            self._events({"type": "exception", **rec.as_json(), "reason": r.reason, "handler": how})
        if self._trace and not (how == "python" and r.ec in CALL_CLASSES):
            sym, line = self.symbolize(r.elr), self.source_line(r.elr, short=True)
            self._trace(f"[exception] {describe_routing(r, spsr)}{f' <{sym}>' if sym else ''}"
                        f"{f' {line}' if line else ''} -> "
                        f"{'Python model' if how == 'python' else 'vector'}")
        return rec

    def _vector(self, r: Routing, pstate: int, pc: int, insn_addr: int | None = None) -> None:
        last = self._last_vector
        if r.ec == EC.UNKNOWN and last and last[0] == pc:
            prev, at = last[1], self._last_raised
            sym = self.symbolize(at) if at is not None else None
            origin = "" if at is None else \
                f" at {at:#x}{f' <{sym}>' if sym else ''} `{self._insn_text(at)}`"
            self.stop(StopReason.FAULT, None,
                      f"no exception handler: {prev.ec.name}{origin} taken from EL{prev.from_el} to "
                      f"EL{prev.to_el} vectored to {pc:#x} (VBAR_EL{prev.to_el}="
                      f"{self.cpu.vbar(prev.to_el):#x}), which is not valid code "
                      f"(`{self._insn_text(pc)}`)")
            return
        self._record(r, pstate, "vector")
        target = enter(self.cpu, r)
        self._last_vector = (target, r)
        self._last_raised = insn_addr             # the instruction that raised it, if known

    def _unhandled_el(self, pc: int) -> int | None:
        """The EL whose harness vector table holds `pc`; None elsewhere (a guest's own
        `hlt #0xffa0` is an ordinary HLT)."""
        if not self._harness_ready:
            return None
        return next((e for e, base in UNHANDLED_VECTORS.items() if base <= pc < base + 0x800), None)

    def _unhandled(self, pc: int) -> None:
        el = self._unhandled_el(pc)
        at = self._last_raised if self._last_vector and self._last_vector[1].to_el == el else None
        sym = self.symbolize(at) if at is not None else None
        origin = "" if at is None else f" from {at:#x}{f' <{sym}>' if sym else ''} `{self._insn_text(at)}`"
        self.stop(StopReason.FAULT, None,
                  f"exception to EL{el}{origin} at vector offset {pc - UNHANDLED_VECTORS[el]:#x} "
                  f"(ESR_EL{el}={self.cpu.esr(el):#x}, ELR_EL{el}={self.cpu.elr(el):#x}) "
                  f"was not handled by the EL{el} model")

    # Python handlers -------------------------------------------------------------------
    def _dispatch(self, trap: Trap, handler: Handler, rec: ExceptionRecord) -> None:
        if trap.ec in CALL_CLASSES:
            where = ""
            if self._trace:                       # the call site, for people reading a trace
                sym, line = self.symbolize(trap.insn_addr), self.source_line(trap.insn_addr, short=True)
                where = (f"{trap.ec.name[:3].lower()} #{trap.imm16:#x} at {trap.insn_addr:#x}"
                         f"{f' <{sym}>' if sym else ''}{f' {line}' if line else ''}, "
                         f"{trap.routing.reason}")
            self.calls.enter(trap.from_el, trap.to_el, self._handler_names[trap.to_el], trap._x,
                             where, True)             # owned: the trap's list is its own
        act = handler(trap)
        if isinstance(act, types.GeneratorType):
            self._drive(trap, rec, act, None, entered=False)
        else:
            self._finish(trap, rec, act, entered=False)

    def _drive(self, trap: Trap, rec: ExceptionRecord, gen, send, entered: bool) -> None:
        """Run a generator handler until it returns, forwarding each yielded call to EL3."""
        while True:
            try:
                act = gen.send(send)
            except StopIteration as done:
                return self._finish(trap, rec, done.value, entered)
            if not isinstance(act, Forward):
                raise ModelError(f"a handler may only yield trap.forward(), not {act!r}")
            send = self._forward_to_python(act)
            if send is None:
                return self._forward_to_asm(trap, rec, gen, act, entered)

    def _forward_to_python(self, act: Forward) -> Result | None:
        """Deliver a forwarded SMC to a Python EL3 handler; None if there is none or it declines."""
        handler = self._handlers.get(3)
        if handler is None:
            return None
        xs = list(act.pos)                      # x0-x17
        trap3 = _new(Trap)                 # Trap(FORWARD_ROUTING, ...), inline
        trap3._x, trap3._routing, trap3.spsr, trap3.mem = xs, FORWARD_ROUTING, FORWARD_SPSR, self.memory
        trap3.ec, trap3.esr, trap3.elr = EC.SMC64, FORWARD_ESR, RESUME
        trap3.from_el, trap3.to_el, trap3.insn_addr = 2, 3, TRAMPOLINE
        if (self.traps + 1) * TRAP_WEIGHT > self.max_insns:
            self._charge()                      # counts it and stops the run, with the message
            raise _Halt
        self.traps += 1
        calls = self.calls
        plain = calls._sink is None and calls.events is None and calls.context is None
        if plain:                               # CallTracer.enter, without a sink or context
            opened = calls._open
            entry = [2, 3, self._handler_names[3], xs, None, None, len(opened), None]
            if len(calls._log) < MAX_CALL_RECORDS:
                calls._log.append(entry)
            else:
                calls.dropped += 1
            opened.append(entry)
        else:
            calls.enter(2, 3, self._handler_names[3], xs, "", True)
        answer = handler(trap3)
        if type(answer) is not Return:
            if answer is None or isinstance(answer, Vector):
                calls.forget()
                return None
            self._forward_recorded()
            if isinstance(answer, Stop):
                self.stop(StopReason(answer.reason), answer.code, answer.message)
                raise _Halt
            raise ModelError(f"EL3 handler answered {answer!r}; expected trap.ret() or trap.stop()")
        self._forward_recorded()
        pos = answer.pos
        if pos is None:
            out = xs[:]
            for n, v in answer._values.items():
                out[n] = v & MASK64
        else:                                   # x0.. given in order, the rest kept
            out = list(map(_MASK64_AND, pos))
            out += xs[len(out):]
        if plain and entry[_CALL_REC] is None and opened and opened[-1] is entry:
            opened.pop()                        # CallTracer.leave, for a record nobody read
            entry[_CALL_RET] = out
        else:
            calls.leave(out, True)
        res = _new(Result)                 # Result(out) without __init__
        res._x = out
        return res

    def _forward_recorded(self) -> None:
        """The exception record of a forward a Python EL3 handler answered."""
        if self._debug is None and self._events is None and self._trace is None:
            self._keep_record(_FORWARD_RECORD)
        else:
            self._record(FORWARD_ROUTING, FORWARD_SPSR, "python")

    def _forward_to_asm(self, trap: Trap, rec: ExceptionRecord, gen, act: Forward,
                        entered: bool) -> None:
        """Really execute `smc #0` at EL2 (the harness trampoline) into EL3 assembly."""
        if not entered:
            enter(self.cpu, trap.routing, pc=TRAMPOLINE)
        else:
            self.cpu.pc = TRAMPOLINE
        for n, v in act.values.items():
            self.cpu.set_x(n, v)
        self.calls.enter(2, 3, "assembly", [act.values.get(n, 0) for n in range(SMCCC_ARG_REGS)])
        self._pending = (trap, rec, gen)

    def _on_resume(self, uc, addr, size, _):
        """EL3 returned to the trampoline: hand the results to the waiting EL2 handler."""
        if self._pending is None:
            self.stop(StopReason.FAULT, None, f"unexpected return to the harness trampoline {addr:#x}")
            return
        trap, rec, gen = self._pending
        self._pending = None
        result = self.cpu.xs(SMCCC_ARG_REGS)
        self.calls.leave(result)
        try:
            self._drive(trap, rec, gen, Result(result), entered=True)
        except _Halt:
            self.uc.emu_stop()

    def _finish(self, trap: Trap, rec: ExceptionRecord, act, entered: bool) -> None:
        cpu = self.cpu
        if isinstance(act, Return):
            if self._in_model_trap and not entered:
                pos = act.pos
                if pos is None:
                    answered = self.native.set_answer(trap._x, act._values, act.pc)
                else:                           # full x0-x17: a trace prints them
                    answered = _full_answer(trap._x, _write_pos(self.native._res, pos, act.pc))
                if trap.ec in CALL_CLASSES:
                    self.calls.leave(answered, True)
                return
            if trap.ec in CALL_CLASSES:
                self.calls.leave(_with_values(trap._x, act.values), owned=True)
            if entered:
                # We are in the code hook at RESUME, whose `eret` runs next, natively.
                # (Writing PC here would restart at RESUME and re-enter this hook.)
                for n, v in act.values.items():
                    cpu.set_x(n, v)
                cpu.set_elr(2, act.pc)
            elif self.native is not None:
                self.native.write_result(act.values, act.pc)
            else:
                for n, v in act.values.items():
                    cpu.set_x(n, v)
                cpu.pc = act.pc
        elif type(act) is Forward:              # `return trap.forward()`: a pass-through
            res = self._forward_to_python(act)
            if res is None:                     # EL3 assembly: resumed as a generator would be
                gen = iter(act if act.trap is trap else Forward(None, act.pos, trap))
                next(gen)
                return self._forward_to_asm(trap, rec, gen, act, entered)
            return self._finish(trap, rec, trap.ret(*res._x), entered)
        elif isinstance(act, Resume):
            if entered:
                raise ModelError("a handler cannot switch contexts after forwarding to EL3 assembly")
            if trap.ec in CALL_CLASSES:
                self.calls.leave(_with_values(trap._x, act.values), owned=True)
            cpu.pc = act.pc
        elif isinstance(act, Stop):
            self.stop(StopReason(act.reason), act.code, act.message)
        elif act is None or isinstance(act, Vector):
            if entered:
                raise ModelError("a handler that forwarded to EL3 must end with trap.ret() "
                                 "or trap.stop(), not by vectoring")
            self._vectored(rec)
            self._last_vector = (enter(cpu, trap.routing), trap.routing)
        else:
            raise ModelError(f"handler answered {act!r}; expected trap.ret(), trap.forward(), "
                             "trap.vector() or trap.stop()")

    def _vectored(self, rec) -> None:
        """A Python model declined the exception of `rec`: its record says "vector"."""
        if not isinstance(rec, tuple):
            rec.handler = "vector"
            return
        parts = self._exc_parts              # the lean path's tuple: replaced where it is kept
        for i in range(len(parts) - 1, -1, -1):
            if parts[i] is rec:
                parts[i] = _ModelTrapRecord(rec, "vector")
                return

    # Semihosting ----------------------------------------------------------------------
    def _semihost(self) -> None:
        cpu = self.cpu
        op, arg = cpu.x(0) & 0xFFFF_FFFF, cpu.x(1)

        def read(addr: int, size: int) -> bytes:
            data = self.memory.read(addr, size)
            if data is None:
                raise UcError(0)
            return data
        try:
            if op == semihosting.Op.SYS_WRITEC:
                self._emit(bytes(read(arg, 1)))
            elif op == semihosting.Op.SYS_WRITE0:
                self._emit(semihosting.read_cstring(read, arg))
            elif op in (semihosting.Op.SYS_EXIT, semihosting.Op.SYS_EXIT_EXTENDED):
                block = bytes(read(arg, 16))
                reason = int.from_bytes(block[:8], "little")
                code = semihosting.exit_code(reason, int.from_bytes(block[8:], "little"))
                self.stop(StopReason.SEMIHOST_EXIT, code, f"semihosting SYS_EXIT with code {code}")
                return
            else:
                self.stop(StopReason.FAULT, None,
                          f"{self._where()}: unsupported semihosting operation {op:#x}")
                return
        except UcError:
            self.stop(StopReason.FAULT, None,
                      f"{self._where()}: semihosting operation {op:#x} points at unmapped {arg:#x}")
            return
        cpu.pc = cpu.pc + INSN_BYTES
