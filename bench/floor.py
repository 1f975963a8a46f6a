"""The floor a Python trap handler can reach on this Unicorn binding, measured in the same run
as ffaemu's own trap paths (issue: speed where users feel it).

Three callbacks answer `smc #0` at EL1 (SCR_EL3 = 0, so Unicorn reports intno 13 and resumes
after the SMC; nothing is vectored), N times in a loop:
- `raw`: a Python UC_HOOK_INTR callback that does nothing (the binding's minimum);
- `ctypes_batch`: reads x0-x17 and writes x0-x7 with uc_reg_read_batch/uc_reg_write_batch
  through ctypes;
- `c_assisted`: a C hook (floor.c) moves x0-x17 into shared memory, calls Python, which reads
  them with memoryview.tolist() and writes 8 results, and C writes them back.
Rates are traps per second of CPU time, from two loop lengths so that fixed costs cancel.
"""
from __future__ import annotations

import ctypes
import subprocess
import tempfile
import time
from pathlib import Path

from unicorn import UC_ARCH_ARM64, UC_HOOK_INTR, UC_MODE_ARM, UC_PROT_ALL, Uc
from unicorn import arm64_const as uca
from unicorn.unicorn_py3 import unicorn as _ucmod

CODE_BASE = 0x4010_0000
# ldr x19, =N ; 1: smc #0 ; subs x19, x19, #1 ; b.ne 1b ; end:   (encodings by aarch64 as 2.40)
LOOP = bytes.fromhex("d3000058" "030000d4" "730600f1" "c1ffff54" "1f2003d5" "1f2003d5")
END = CODE_BASE + 16
N_REGS = 18


class _Ctx(ctypes.Structure):
    _fields_ = [("reg_read", ctypes.c_void_p), ("reg_write", ctypes.c_void_p),
                ("callback", ctypes.c_void_p), ("r_x", ctypes.c_int * N_REGS),
                ("in_", ctypes.c_uint64 * N_REGS), ("out", ctypes.c_uint64 * 8)]


def _machine(n: int) -> Uc:
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    uc.mem_map(CODE_BASE, 0x1000, UC_PROT_ALL)
    uc.mem_write(CODE_BASE, LOOP + n.to_bytes(8, "little"))   # the literal at +24
    return uc


def _u64_view(array) -> memoryview:
    """A ctypes uint64 array as a memoryview whose tolist() works (ctypes says '<Q')."""
    return memoryview(array).cast("B").cast("Q")


def _time(uc: Uc) -> float:
    t0 = time.process_time()
    uc.emu_start(CODE_BASE, END)
    return time.process_time() - t0


def raw(n: int) -> float:
    uc = _machine(n)
    uc.hook_add(UC_HOOK_INTR, lambda uc, intno, user: None)
    return _time(uc)


def ctypes_batch(n: int) -> float:
    uc = _machine(n)
    lib, handle = _ucmod.uclib, uc._uch
    ids = (ctypes.c_int * N_REGS)(*[getattr(uca, f"UC_ARM64_REG_X{i}") for i in range(N_REGS)])
    vals = (ctypes.c_uint64 * N_REGS)()
    ptrs = (ctypes.c_void_p * N_REGS)(*[ctypes.addressof(vals) + 8 * i for i in range(N_REGS)])
    read, write = lib.uc_reg_read_batch, lib.uc_reg_write_batch
    view = _u64_view(vals)

    def cb(uc_, intno, user):
        read(handle, ids, ptrs, N_REGS)
        xs = view.tolist()
        vals[0] = xs[0] + 1
        write(handle, ids, ptrs, 8)
    uc.hook_add(UC_HOOK_INTR, cb)
    return _time(uc)


def _library(tmp: Path) -> ctypes.CDLL:
    so = tmp / "floor.so"
    if not so.exists():
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(so),
                        str(Path(__file__).with_name("floor.c"))], check=True)
    return ctypes.CDLL(str(so))


def c_assisted(n: int, tmp: Path) -> float:
    lib = _library(tmp)
    uc = _machine(n)
    ctx = _Ctx()
    ctx.reg_read = ctypes.cast(_ucmod.uclib.uc_reg_read, ctypes.c_void_p).value
    ctx.reg_write = ctypes.cast(_ucmod.uclib.uc_reg_write, ctypes.c_void_p).value
    for i in range(N_REGS):
        ctx.r_x[i] = getattr(uca, f"UC_ARM64_REG_X{i}")
    regs_in, out = _u64_view(ctx.in_), ctx.out

    def cb():
        xs = regs_in.tolist()
        out[0] = xs[0] + 1
        for i in range(1, 8):
            out[i] = xs[i]
    pycb = ctypes.CFUNCTYPE(None)(cb)
    ctx.callback = ctypes.cast(pycb, ctypes.c_void_p).value
    handle = ctypes.c_size_t()
    err = _ucmod.uclib.uc_hook_add(uc._uch, ctypes.byref(handle), UC_HOOK_INTR,
                                   ctypes.cast(lib.floor_intr, ctypes.c_void_p),
                                   ctypes.cast(ctypes.pointer(ctx), ctypes.c_void_p),
                                   ctypes.c_uint64(1), ctypes.c_uint64(0))
    assert err == 0, err
    return _time(uc)


def rates(n_short: int = 2_000, n_long: int = 40_000) -> dict[str, float]:
    """Traps per second for each floor callback."""
    out = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, fn in (("raw", raw), ("ctypes_batch", ctypes_batch),
                         ("c_assisted", lambda n: c_assisted(n, tmp))):
            out[name] = (n_long - n_short) / (fn(n_long) - fn(n_short))
    return out


if __name__ == "__main__":
    for k, v in rates().items():
        print(f"{k:<14} {v:>12,.0f} traps/s")
