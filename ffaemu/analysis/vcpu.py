"""A vCPU of the ARMv8 memory model (`memmodel`): a Unicorn instance and its model state.

The executor drives each vCPU one short run of instructions at a time, so the per-step calls go
straight to libunicorn (as `explore._Run` does): through the binding, its Python wrappers cost
more than the one-instruction emulation they wrap. A vCPU's state can be frozen into a run
snapshot and thawed from one (`Executor.run(keep=, resume=)`).
"""
from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, UC_PROT_ALL, Uc, UcError
from unicorn import arm64_const as uca
from unicorn.unicorn_py3.unicorn import HOOK_MEM_ACCESS_CFUNC, uc_hook_h
from unicorn.unicorn_py3.unicorn import uclib as _uclib

from ..arch.cpu import Cpu
from ..arch.sysregs import DAIF_ALL, mode_bits
from .insn import NREGS

if TYPE_CHECKING:
    from .memmodel import Msg, Program, ThreadSpec

PAGE = 0x1000
STOP_NEVER = 0xFFFF_FFFF_FFFF_FFFC
REG_PC = uca.UC_ARM64_REG_PC
emu_start, uc_stop, _uc_reg_read = _uclib.uc_emu_start, _uclib.uc_emu_stop, _uclib.uc_reg_read
ctx_save, ctx_restore = _uclib.uc_context_save, _uclib.uc_context_restore


def _page_floor(a: int) -> int:
    return a & ~(PAGE - 1)


def _page_ceil(a: int) -> int:
    return (a + PAGE - 1) & ~(PAGE - 1)


class Vcpu:
    """One vCPU of the model: its Unicorn instance (code, a private copy of the data region,
    the CPU) and its Promising-ARM state (views, write buffer, promise; see memmodel)."""

    def __init__(self, tid: int, spec: ThreadSpec, prog: Program):
        self.tid, self.spec = tid, spec
        uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        uc.ctl_set_cpu_model(uca.UC_CPU_ARM64_MAX)          # LDAPR and LSE atomics
        pages = set()
        for addr, data in spec.segments:
            pages.update(range(_page_floor(addr), _page_ceil(addr + len(data)), PAGE))
        for p in sorted(pages):
            uc.mem_map(p, PAGE)
        for addr, data in spec.segments:
            uc.mem_write(addr, data)
        # The vCPU's private copy of the data region, in a buffer of ours: the read hook writes
        # the chosen message's value into it directly (no uc_mem_write per load).
        lo, hi = _page_floor(prog.data), _page_ceil(prog.data + prog.data_size)
        self.page = ctypes.create_string_buffer(hi - lo)
        self.page_at = ctypes.addressof(self.page) - lo         # host address of guest address 0
        uc.mem_map_ptr(lo, hi - lo, UC_PROT_ALL, ctypes.addressof(self.page))
        cpu = Cpu(uc)
        cpu.set_pstate_and_spsr(mode_bits(2, spx=True) | DAIF_ALL, 2, 0)
        for n, v in spec.regs.items():
            cpu.set_x(n, v)
        cpu.pc = spec.entry
        self.uc, self.ctx = uc, uc.context_save()
        self.handle = uc._uch
        self.hooks: list = []
        self.ahead_ctx = uc.context_save()          # the look-ahead's saved CPU (reused)
        self.pc_value = ctypes.c_uint64()
        self.pc_ref = ctypes.byref(self.pc_value)
        self.code = {}
        for addr, data in spec.segments:
            for off in range(0, len(data) - 3, 4):
                self.code[addr + off] = int.from_bytes(data[off:off + 4], "little")

    def reset(self) -> None:
        ctx_restore(self.handle, self.ctx.context)
        self.frozen_state, self.frozen_cpu = None, self.ctx     # see `freeze`
        self.reg = [0] * NREGS
        self.coh: dict[int, int] = {}
        self.vrp = self.vwp = self.vrm = self.vwm = self.vcap = self.vrel = 0
        self.buffer: list[tuple[Msg, int]] = []        # (message, view of its address and data)
        self.excl: tuple[int, int] | None = None        # (loc, timestamp read)
        self.done = False
        self.wait_len = -1
        self.at = self.spec.entry                       # the PC, tracked without asking Unicorn
        self.reads: list[tuple[int, int]] = []          # (pc, ts) of this vCPU's loads, in order
        self.block_reads: dict[int, tuple[int, int]] = {}   # pc -> (loc, ts) since its last store
        self.promise: tuple[int, Msg] | None = None     # (timestamp, message) not yet fulfilled
        self.ahead: tuple | None = None                 # look-ahead cache: (len(mem), candidate)

    _STATE = ("reg", "coh", "vrp", "vwp", "vrm", "vwm", "vcap", "vrel", "buffer", "excl", "done",
              "wait_len", "at", "reads", "block_reads", "promise")

    def save(self) -> tuple:
        """The model state (`_STATE`), copied (for a look-ahead that must leave no trace)."""
        return (self.reg.copy(), self.coh.copy(), self.vrp, self.vwp, self.vrm, self.vwm, self.vcap,
                self.vrel, self.buffer.copy(), self.excl, self.done, self.wait_len, self.at,
                self.reads.copy(), self.block_reads.copy(), self.promise)

    def restore(self, saved: tuple) -> None:
        (self.reg, self.coh, self.vrp, self.vwp, self.vrm, self.vwm, self.vcap, self.vrel, self.buffer,
         self.excl, self.done, self.wait_len, self.at, self.reads, self.block_reads,
         self.promise) = saved

    # A run snapshot holds each vCPU frozen: its model state and look-ahead cache, copied, and
    # its CPU in a Unicorn context. Both are kept while the vCPU does not change (a snapshot
    # shares them with the one before): `frozen_state` is dropped by whatever changes the model
    # state (its block, a drain, a promise, a new look-ahead), `frozen_cpu` by its block. The
    # private data region needs no copy: every load's value is written into it by the read hook.
    def freeze(self) -> tuple:
        if self.frozen_state is None:
            self.frozen_state = self.save() + (self.ahead,)
        if self.frozen_cpu is None:
            self.frozen_cpu = self.uc.context_save()
        return self.frozen_state, self.frozen_cpu

    def thaw(self, frozen: tuple) -> None:
        state, cpu = frozen
        self.restore(state[:-1])
        self.reg, self.coh, self.buffer = self.reg.copy(), self.coh.copy(), self.buffer.copy()
        self.reads, self.block_reads = self.reads.copy(), self.block_reads.copy()
        self.ahead = state[-1]
        err = ctx_restore(self.handle, cpu.context)
        if err:
            raise UcError(err)
        self.frozen_state, self.frozen_cpu = state, cpu

    def pc(self) -> int:
        return self.at

    def view(self, slots) -> int:
        if not slots:
            return 0
        reg = self.reg
        if len(slots) == 1:
            return reg[slots[0]]
        return max([reg[s] for s in slots])

    def read_pc(self) -> int:
        err = _uc_reg_read(self.handle, REG_PC, self.pc_ref)
        if err:
            raise UcError(err)
        return self.pc_value.value

    def hook(self, kind: int, lo: int, hi: int, fn) -> None:
        """A memory hook on [lo, hi] registered with libunicorn directly: one Python call per
        access (the binding wraps each callback in two more)."""
        cb = HOOK_MEM_ACCESS_CFUNC(fn)
        handle = uc_hook_h()
        err = _uclib.uc_hook_add(self.handle, ctypes.byref(handle), kind, cb, None, ctypes.c_uint64(lo),
                                 ctypes.c_uint64(hi))
        if err:
            raise UcError(err)
        self.hooks.append(cb)                  # alive as long as the vCPU's Unicorn instance
