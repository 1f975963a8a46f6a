"""Snapshot restarts: save a booted Machine once, run it, restore it, run again.

Unicorn 2.1 saves CPU and memory together when the context mode includes
UC_CTL_CONTEXT_MEMORY (`uc_context_save`/`uc_context_restore`; memory is kept
copy-on-write), which restores a booted machine in about 0.3 ms against tens of ms to
build one. Hazard (seen on 2.1.4): mapping a region after a memory snapshot and then
restoring can crash Unicorn, so `take` first maps every lazily-mapped flash/RAM chunk
and nothing is mapped afterwards. A second one (2.1.4): after a memory snapshot,
`uc_mem_write` into a read-only region fails (and `uc_mem_protect` is refused), so the
models could no longer write the EL2 mailbox in harness memory; a snapshotted machine's
harness is therefore writable and guest writes to it are caught by a UC_HOOK_MEM_WRITE
on its range instead of the page protection, with the same fault message.

Python state goes with it: the machine's own run state, its call tracer, the
instruction checks, the C fast path's counters and every attached handler's attributes
(deep-copied; a handler that keeps state elsewhere, e.g. in a closure, is not reset).
"""
from __future__ import annotations

import copy
import ctypes
import io
import pickle
import types

from unicorn import (UC_CTL_CONTEXT_CPU, UC_CTL_CONTEXT_MEMORY, UC_CTL_CONTEXT_MODE,
                     UC_CTL_IO_WRITE, UC_HOOK_MEM_WRITE, UC_MEM_WRITE_PROT, UC_PROT_ALL)

from . import memmap
from .errors import FfaemuError

_CONTAINERS = (list, dict, set, bytearray)
_NATIVE_FIELDS = ("log_count", "insns", "last_vector", "last_info")


def _plain_state(obj, skip: frozenset = frozenset()) -> dict:
    """The attributes of `obj` that are plain values or containers (shallow-copied)."""
    out = {}
    for key, value in vars(obj).items():
        if key in skip:
            continue
        if isinstance(value, _CONTAINERS):
            out[key] = copy.copy(value)
        elif value is None or isinstance(value, (int, float, str, bytes, tuple, frozenset)):
            out[key] = value
    return out


def _put_plain_state(obj, state: dict) -> None:
    for key, value in state.items():
        setattr(obj, key, copy.copy(value) if isinstance(value, _CONTAINERS) else value)


def _guard_harness_with_hooks(machine) -> None:
    """Harness memory writable to the host again; guest writes still fault."""
    h, stacks = memmap.HARNESS, memmap.HARNESS_STACKS
    machine.uc.mem_protect(h.base, h.size, UC_PROT_ALL)

    def guard(uc, access, addr, size, value, _):
        machine._on_bad_access(uc, UC_MEM_WRITE_PROT, addr, size, value, None)
        uc.emu_stop()
    for begin, end in ((h.base, stacks.base - 1), (stacks.end, h.end - 1)):
        machine.uc.hook_add(UC_HOOK_MEM_WRITE, guard, begin=begin, end=end)
    machine._harness_hooked = True


class _State:
    """Handler state saved once and rebuilt at each restore: pickled (fast to load), with
    the machine's objects and functions kept by reference as deepcopy would keep them;
    deep-copied instead if something in it cannot be pickled."""

    def __init__(self, state: dict, shared: dict):
        self._shared = shared
        try:
            buf = io.BytesIO()
            pickler = pickle.Pickler(buf, pickle.HIGHEST_PROTOCOL)
            pickler.persistent_id = self._persistent_id
            pickler.dump(state)
            self._pickled, self._state = buf.getvalue(), None
        except (pickle.PicklingError, TypeError, AttributeError):
            self._pickled, self._state = None, copy.deepcopy(state, dict(shared))

    def _persistent_id(self, obj):
        if id(obj) in self._shared and obj is self._shared[id(obj)]:
            return id(obj)
        if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
            self._shared[id(obj)] = obj                  # functions: atomic, as for deepcopy
            return id(obj)
        return None

    def fresh(self) -> dict:
        if self._pickled is None:
            return copy.deepcopy(self._state, dict(self._shared))
        unpickler = pickle.Unpickler(io.BytesIO(self._pickled))
        unpickler.persistent_load = self._shared.__getitem__
        return unpickler.load()


class Snapshot:
    """One saved state of a Machine (see `Machine.snapshot`)."""

    def __init__(self, machine):
        if machine._debug is not None:
            raise FfaemuError("a machine under a debugger cannot be snapshotted")
        self.machine = machine
        machine.map_everything()                  # nothing may be mapped after the snapshot
        uc = machine.uc
        if machine._harness_ready and not getattr(machine, "_harness_hooked", False):
            _guard_harness_with_hooks(machine)
        uc.ctl(UC_CTL_CONTEXT_MODE, UC_CTL_IO_WRITE,
               ctypes.c_int(UC_CTL_CONTEXT_CPU | UC_CTL_CONTEXT_MEMORY))
        self._uc_context = uc.context_save()
        self._machine = _plain_state(machine, frozenset({"_lazy"}))
        self._calls = _plain_state(machine.calls)
        self._checks = _plain_state(machine.checks)
        self._checks_hook = machine.checks.hook
        self._counter = None if machine.native else _plain_state(machine.counter)
        native = machine.native
        self._native = None if native is None else {f: getattr(native.ctx, f) for f in _NATIVE_FIELDS}
        self._memo = {id(o): o for o in (machine, machine.uc, machine.cpu, machine.memory,
                                         machine.calls, machine.native, machine.checks)}
        self._handlers = {el: (h, _State(vars(h), {**self._memo, id(h): h}))
                          for el, h in machine._handlers.items() if hasattr(h, "__dict__")}

    def restore(self) -> None:
        """Put the machine back exactly as it was when the snapshot was taken."""
        m = self.machine
        m.uc.context_restore(self._uc_context)
        _put_plain_state(m, self._machine)
        _put_plain_state(m.calls, self._calls)
        checks = m.checks
        if checks.hook is not None and checks.hook != self._checks_hook:
            m.uc.hook_del(checks.hook)             # armed during the run: disarm
        _put_plain_state(checks, self._checks)
        checks.hook = None
        checks.rearm = checks.rearm or self._checks_hook is not None
        if self._counter is not None:
            _put_plain_state(m.counter, self._counter)
        if self._native is not None:
            for name, value in self._native.items():
                setattr(m.native.ctx, name, value)
            m.native.error = None
        for handler, state in self._handlers.values():
            fresh = state.fresh()
            vars(handler).clear()
            vars(handler).update(fresh)
