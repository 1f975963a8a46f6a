"""The C fast path (fastpath.c): built with gcc on first use, loaded with ctypes.

`attach(machine)` returns a `Native` bound to the machine, or None, after a one-line
warning, when the helper cannot be built (no gcc) or FFAEMU_NATIVE=0 turns it off.
The library is cached under $FFAEMU_CACHE or ~/.cache/ffaemu, keyed by the source hash.
"""
from __future__ import annotations

import array
import ctypes
import struct
import zlib
import os
import sys
from pathlib import Path

from unicorn import UC_HOOK_BLOCK, UC_HOOK_CODE, UC_HOOK_INSN, UC_HOOK_INTR
from unicorn import arm64_const as uca
from unicorn.unicorn_py3 import unicorn as _ucmod

SOURCE = Path(__file__).with_name("fastpath.c")
LOG_CAP = 1024
ENTRY_WORDS = 8                  # from, to, ec, esr, elr, spsr, intno, vector
INTR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)
CODE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_void_p)
TRAP_CB = ctypes.CFUNCTYPE(None)      # the lean trap path: no arguments to convert
DRAIN = 0xFFFF_FFFF              # intno the C hook uses to ask Python to drain its log
SMCCC_REGS = 18
# The lean trap path's shared words (fastpath.c model_trap): x0-x17, pc, pstate, scr, hcr,
# insn, from|to<<8|ec<<16|intno<<24, esr, log_count.
TRAP_WORDS = 26
TRAP_PC, TRAP_PSTATE, TRAP_SCR, TRAP_HCR, TRAP_INSN, TRAP_INFO, TRAP_ESR, TRAP_LOG = range(18, 26)
RES_MASK, RES_PC = SMCCC_REGS, SMCCC_REGS + 1
RES_VALID = 1 << 31
_RES = struct.Struct(f"<{SMCCC_REGS + 2}Q")     # res: x0-x17, mask, pc
# The trap words as a tuple: the caller's x0-x17 stay a tuple in the call record, which
# the garbage collector stops traversing after one look (a list it would walk on every
# collection: a tenth of a bare trap's time).
_TRAP_WORDS = struct.Struct(f"<{TRAP_WORDS}Q").unpack_from
_ALL_REGS, _ALL_MASK = list(range(SMCCC_REGS)), (1 << SMCCC_REGS) - 1
MASK64 = 0xFFFF_FFFF_FFFF_FFFF

_state: dict = {}


class FastCtx(ctypes.Structure):
    _fields_ = [
        ("reg_read", ctypes.c_void_p), ("reg_write", ctypes.c_void_p),
        ("mem_read", ctypes.c_void_p), ("emu_stop", ctypes.c_void_p),
        ("r_pc", ctypes.c_int), ("r_pstate", ctypes.c_int), ("r_sp", ctypes.c_int), ("r_cp", ctypes.c_int),
        ("r_elr", ctypes.c_int * 4), ("r_esr", ctypes.c_int * 4), ("r_vbar", ctypes.c_int * 4),
        ("r_sp_el", ctypes.c_int * 4), ("r_x", ctypes.c_int * 18),
        ("python_els", ctypes.c_uint32), ("all_python", ctypes.c_uint32),
        ("python_intr", INTR_CB), ("python_eret", CODE_CB),
        ("last_vector", ctypes.c_uint64), ("last_info", ctypes.c_uint64),
        ("log_count", ctypes.c_uint64),
        ("log", (ctypes.c_uint64 * ENTRY_WORDS) * LOG_CAP),
        ("insns", ctypes.c_uint64),
        ("python_control", CODE_CB),
        ("python_trap", TRAP_CB),
        ("trap", ctypes.c_uint64 * TRAP_WORDS),
        ("res", ctypes.c_uint64 * (SMCCC_REGS + 2)),     # x0-x17, res_mask, res_pc
    ]


def _warn(reason: str) -> None:
    print(f"ffaemu: warning: C fast path unavailable ({reason}); running in pure Python",
          file=sys.stderr)


def library():
    """The loaded helper, building it if needed; None (after one warning) if impossible."""
    if "lib" in _state:
        return _state["lib"]
    _state["lib"] = None
    if os.environ.get("FFAEMU_NATIVE", "1") == "0":
        return None
    src = SOURCE.read_bytes()
    tag = f"{zlib.crc32(src + sys.version.encode()):08x}{len(src):x}"   # cache key; hashlib costs 4 ms to import
    cache = Path(os.environ.get("FFAEMU_CACHE") or Path.home() / ".cache" / "ffaemu")
    lib_path = cache / f"fastpath-{tag}.so"
    if not lib_path.exists():
        import subprocess                  # only to build the helper, once per cache
        import tempfile
        try:
            cache.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=cache, suffix=".so", delete=False) as tmp:
                pass
            proc = subprocess.run([os.environ.get("CC", "gcc"), "-O2", "-shared", "-fPIC",
                                   "-o", tmp.name, str(SOURCE)], capture_output=True, text=True)
            if proc.returncode != 0:
                os.unlink(tmp.name)
                _warn(f"gcc failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
                return None
            os.replace(tmp.name, lib_path)
        except OSError as e:
            _warn(f"cannot build it: {e}")
            return None
    try:
        _state["lib"] = ctypes.CDLL(str(lib_path))
    except OSError as e:
        _warn(f"cannot load {lib_path.name}: {e}")
    return _state["lib"]


class Native:
    """The C hooks of one machine; Python callbacks cover what C leaves to Python."""

    def __init__(self, lib, machine):
        self.lib = lib
        self.m = machine
        uclib = _ucmod.uclib
        fn = lambda f: ctypes.cast(f, ctypes.c_void_p).value  # noqa: E731
        ctx = self.ctx = FastCtx()
        ctx.reg_read, ctx.reg_write = fn(uclib.uc_reg_read), fn(uclib.uc_reg_write)
        ctx.mem_read, ctx.emu_stop = fn(uclib.uc_mem_read), fn(uclib.uc_emu_stop)
        ctx.r_pc, ctx.r_pstate, ctx.r_sp = uca.UC_ARM64_REG_PC, uca.UC_ARM64_REG_PSTATE, uca.UC_ARM64_REG_SP
        ctx.r_cp = uca.UC_ARM64_REG_CP_REG
        for el in range(4):
            ctx.r_elr[el] = getattr(uca, f"UC_ARM64_REG_ELR_EL{el}")
            ctx.r_esr[el] = getattr(uca, f"UC_ARM64_REG_ESR_EL{el}")
            ctx.r_vbar[el] = getattr(uca, f"UC_ARM64_REG_VBAR_EL{el}")
            ctx.r_sp_el[el] = getattr(uca, f"UC_ARM64_REG_SP_EL{el}")
        for n in range(18):
            ctx.r_x[n] = getattr(uca, f"UC_ARM64_REG_X{n}")
        self._intr_cb = INTR_CB(self._python_intr)       # kept alive with the machine
        self._eret_cb = CODE_CB(self._python_eret)
        ctx.python_intr, ctx.python_eret = self._intr_cb, self._eret_cb
        self._control_cb = CODE_CB(self._python_control)
        ctx.python_control = self._control_cb
        self.trap_words = _u64_view(ctx.trap)          # read with one unpack per trap
        self._trap_cb = TRAP_CB(self._trap_callback(machine))
        ctx.python_trap = self._trap_cb
        self._res = _u64_view(ctx.res)
        self._ctx_ptr = ctypes.cast(ctypes.pointer(ctx), ctypes.c_void_p)
        self._regs = (ctypes.c_uint64 * 23)()
        self._regs_view = _u64_view(self._regs)
        self._vals = (ctypes.c_uint64 * 18)()
        self.error: BaseException | None = None
        self._hooks = []
        self._hook(UC_HOOK_INTR, lib.ffaemu_fast_intr, 1, 0)
        self._hook(UC_HOOK_BLOCK, lib.ffaemu_fast_block, 1, 0)
        self._hook(UC_HOOK_INSN, lib.ffaemu_fast_mrs, 1, 0, ctypes.c_int(uca.UC_ARM64_INS_MRS))
        self._hook(UC_HOOK_INSN, lib.ffaemu_fast_msr, 1, 0, ctypes.c_int(uca.UC_ARM64_INS_MSR))

    @property
    def insns(self) -> int:
        """The virtual clock: instructions of every block entered (see fastpath.c)."""
        return self.ctx.insns

    def _hook(self, kind: int, func, begin: int, end: int, *extra) -> None:
        handle = ctypes.c_size_t()
        err = _ucmod.uclib.uc_hook_add(self.m.uc._uch, ctypes.byref(handle), kind,
                                       ctypes.cast(func, ctypes.c_void_p), self._ctx_ptr,
                                       ctypes.c_uint64(begin), ctypes.c_uint64(end), *extra)
        if err:
            raise RuntimeError(f"uc_hook_add failed with error {err}")
        self._hooks.append(handle)

    def hook_eret(self, addr: int) -> None:
        self._hook(UC_HOOK_CODE, self.lib.ffaemu_fast_eret, addr, addr)

    def _python_intr(self, uch, intno, user):
        try:
            self.drain()
            if intno != DRAIN:
                self.m._on_intr(self.m.uc, intno, None)
        except BaseException as e:       # noqa: BLE001 - re-raised by Machine.resume
            self.error = e
            self.m.uc.emu_stop()

    def _trap_callback(self, machine):
        """fastpath.c model_trap's callback: the shared words, unpacked at once, to
        `machine._on_model_trap` (names bound once: it runs on every trap)."""
        on_trap, words, unpack = machine._on_model_trap, self.trap_words, _TRAP_WORDS

        def python_trap():
            try:
                on_trap(unpack(words))
            except BaseException as e:       # noqa: BLE001 - re-raised by Machine.resume
                self.error = e
                machine.uc.emu_stop()
        return python_trap

    def set_result(self, values: dict[int, int], pc: int) -> None:
        """From inside `_on_model_trap`: x[n] = values[n] and PC, written by C on return."""
        res = self._res
        mask = RES_VALID
        for n, v in values.items():
            res[n] = v & MASK64
            mask |= 1 << n
        res[RES_MASK] = mask
        res[RES_PC] = pc

    def set_answer(self, xs: list[int], values: dict[int, int], pc: int) -> list[int]:
        """`set_result`, returning x0-x17 as the caller will see them (`xs`, a list or a
        tuple, with `values`)."""
        if len(values) == SMCCC_REGS and list(values) == _ALL_REGS:   # x0-x17 in order
            out = list(values.values())
            try:                    # one C-level write; values outside u64 take the loop
                _RES.pack_into(self._res, 0, *out, RES_VALID | _ALL_MASK, pc)
                return out
            except struct.error:
                pass
        out = list(xs)
        res = self._res
        mask = RES_VALID
        for n, v in values.items():
            v &= MASK64
            res[n] = v
            if n < SMCCC_REGS:
                out[n] = v
            mask |= 1 << n
        res[RES_MASK] = mask
        res[RES_PC] = pc
        return out

    def _python_eret(self, uch, addr, size, user):
        try:
            self.m._on_eret(self.m.uc, addr, size, None)
        except BaseException as e:       # noqa: BLE001
            self.error = e
            self.m.uc.emu_stop()

    def _python_control(self, uch, value, enc, user):
        try:
            self.m.checks.on_control_write(enc & 0xFF, (enc >> 8) & 0xFF, enc >> 16, value)
        except BaseException as e:       # noqa: BLE001
            self.error = e
            self.m.uc.emu_stop()

    def drain(self) -> None:
        """Move the exceptions C took into the machine's record, in order, as raw words."""
        count = min(self.ctx.log_count, LOG_CAP)
        if not count:
            return
        raw = array.array("Q")
        raw.frombytes(ctypes.string_at(ctypes.addressof(self.ctx.log), count * 8 * ENTRY_WORDS))
        self.ctx.log_count = 0
        self.m._record_native(raw)

    def read_trap(self, insn_back: int) -> tuple[list[int], int, int, int, int, int | None]:
        """x0-x17, PC, PSTATE, SCR_EL3, HCR_EL2 and the instruction word at PC - insn_back
        (None if unmapped), in one native call."""
        self.lib.ffaemu_read_trap(self.m.uc._uch, self._ctx_ptr, self._regs, insn_back)
        regs = self._regs_view.tolist()
        insn = None if regs[22] == 0xFFFF_FFFF_FFFF_FFFF else regs[22]
        return regs[:18], regs[18], regs[19], regs[20], regs[21], insn

    def write_result(self, values: dict[int, int], pc: int) -> None:
        """x[n] = values[n] and PC, in one native call."""
        mask = 0
        for n, v in values.items():
            self._vals[n] = v & 0xFFFF_FFFF_FFFF_FFFF
            mask |= 1 << n
        self.lib.ffaemu_write_result(self.m.uc._uch, self._ctx_ptr, self._vals, mask, pc)

    def set_python_els(self, els) -> None:
        self.ctx.python_els = sum(1 << el for el in els)

    def set_all_python(self, on: bool) -> None:
        self.ctx.all_python = int(on)

    @property
    def last_vector(self) -> tuple[int, int, int, int] | None:
        info = self.ctx.last_info
        if not self.ctx.last_vector:
            return None
        return self.ctx.last_vector, (info >> 16) & 3, (info >> 8) & 3, info & 0xFF


# RES_VALID with bits x0..x(n-1): the result mask of an n-register positional answer.
POS_MASKS = tuple(RES_VALID | ((1 << n) - 1) for n in range(SMCCC_REGS + 1))


def write_pos(res: memoryview, pos: tuple[int, ...], pc: int) -> tuple[int, ...]:
    """x0.. = `pos` (a positional answer, x0 first) and PC into the C hook's `res` words.
    Returns the answer as the call record keeps it (trace.py `_full`): `pos` itself, or
    for x0-x17 outside u64, the 64-bit values."""
    n = len(pos)
    if n == SMCCC_REGS:
        try:                        # one C-level write; values outside u64 take the loop
            _RES.pack_into(res, 0, *pos, POS_MASKS[SMCCC_REGS], pc)
            return pos
        except struct.error:
            pos = tuple(v & MASK64 for v in pos)
    i = 0
    for v in pos:
        res[i] = v & MASK64
        i += 1
    res[RES_MASK] = POS_MASKS[n]
    res[RES_PC] = pc
    return pos


def _u64_view(array) -> memoryview:
    """A ctypes uint64 array as a memoryview of 'Q' (ctypes says '<Q', which tolist() refuses)."""
    return memoryview(array).cast("B").cast("Q")


def attach(machine) -> Native | None:
    lib = library()
    if lib is None:
        return None
    lib.ffaemu_read_trap.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32]
    lib.ffaemu_write_result.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                        ctypes.c_uint32, ctypes.c_uint64]
    return Native(lib, machine)
