"""An operational ARMv8 memory model over Unicorn vCPUs, and an explorer of its executions.

The model is the Promising-ARM one (Pulte et al., PLDI 2019; snu-sf/promising-arm
`Promising.v`) in the sound restricted form of MEMORY-MODEL.md: instructions execute in
program order, one at a time (as Unicorn does); each vCPU keeps views (timestamps into a
global list of messages): `coh[loc]`, `vrp`, `vwp`, `vrm`, `vwm`, `vcap`, `vrel`, and one view
per register (dependencies). A load may read an *older* message than the newest one, as long as
no write to the location lies between it and the load's lower bound (`pre`, built from its
address registers, `vrp`, and for LDAR `vrel`): that is load->load reordering. Plain stores go to
a per-vCPU write buffer that drains FIFO per location and in any order across locations (W->W
reordering); release, exclusive and atomic writes, DMB SY/ISH/ST and DSB drain it first. Every
write is appended at the end of memory. Read->write reordering (LB, S+dmb.sy+po, WWC) comes from
promises (`promises=True`): a vCPU may append a plain store it will make later before the loads
that precede it, and its store later fulfils it only under Promising-ARM's `writable` rule; a
run that ends with a promise unfulfilled is dropped. `model="sc"` is sequential consistency: no
buffer, no promises, every load reads the newest message.

Each vCPU is its own Unicorn instance with a private copy of the data region; a read hook
injects the chosen message's value before the load completes and a write hook hands each store
to the model (Unicorn 2.1.4 mechanics, MEMORY-MODEL.md).

Executions are explored by replay: a run is a sequence of choices (which vCPU does its next
event, which message a load reads, which buffered write drains), every choice defaulting to 0;
a run is named by its deviations `{choice index: alternative}`. Choices exist only where there
is more than one candidate: vCPUs run local instructions, fences and buffered stores without a
choice, and a vCPU's loads run as late as possible (just before its next visible event),
since waiting only adds messages a load may read.

Speed (the search runs every such run): a run keeps snapshots of its state before each event
choice, and a run that deviates from it only later resumes from there (`run(keep=, resume=)`);
each vCPU's local instructions run in one `uc_emu_start` per straight run and branch, called in
libunicorn directly, as are the memory hooks. None of this changes a run's choices or outcome.
"""
from __future__ import annotations

import ctypes
import random
from dataclasses import dataclass, field

from unicorn import UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE, UcError
from unicorn import arm64_const as uca

from ..errors import FfaemuError
from .insn import ACQ_SC, ATOMIC, F_FULL, F_ISB, F_LD, F_ST, FENCE, LOAD, LOCAL, STORE, Insn, decode
from .vcpu import STOP_NEVER, Vcpu, ctx_restore, ctx_save, emu_start, uc_stop

STEPS_PER_BLOCK = 4_000          # a block that long without a visible event is a livelock
EVENTS_PER_RUN = 20_000
X_REGS = [getattr(uca, f"UC_ARM64_REG_X{n}") for n in range(29)] + [uca.UC_ARM64_REG_X29,
                                                                       uca.UC_ARM64_REG_X30]
MODELS = ("armv8", "sc")
@dataclass
class ThreadSpec:
    """One vCPU: where its code is, where it starts and stops, its initial registers."""
    segments: list[tuple[int, bytes]]
    entry: int
    end: int
    regs: dict[int, int] = field(default_factory=dict)
    name: str = ""


@dataclass
class Program:
    """vCPUs over one data region [data, data + data_size) whose accesses the model orders."""
    threads: list[ThreadSpec]
    data: int
    data_size: int
    init: dict[int, int] = field(default_factory=dict)      # address -> initial value
    names: dict[int, str] = field(default_factory=dict)     # address -> location name
    symbolize: object = None                                # pc -> label or None

    def loc_name(self, loc: int) -> str:
        return self.names.get(loc, f"[{loc:#x}]")


@dataclass
class Msg:
    loc: int
    val: int
    size: int
    tid: int
    pc: int


@dataclass
class Event:
    """One line of an execution's trace: an instruction, or a buffered write draining."""
    tid: int
    pc: int
    text: str
    note: str = ""



class Outcome:
    """One execution's end: registers per vCPU, final memory, its choices and trace."""

    def __init__(self, regs, memory, choices, deviations, trace, failure=None, valid=True):
        self.regs, self.memory, self.choices = regs, memory, choices
        self.deviations, self.trace, self.failure = deviations, trace, failure
        self.valid = valid          # False: a promise was never fulfilled (not an execution)
        self.snapshots: list[tuple] | None = None    # run(keep=True): see Executor.run


class Executor:
    """Runs executions of a Program under `model` ("armv8" or "sc"), one per choice sequence."""

    def __init__(self, prog: Program, model: str = "armv8", promises: bool = False):
        if model not in MODELS:
            raise FfaemuError(f"unknown memory model '{model}' (valid: {', '.join(MODELS)})")
        self.prog, self.sc = prog, model == "sc"
        self.want_regs = True                  # final x0-x30 of every vCPU in each Outcome
        self.promises = promises and not self.sc   # read->write reordering (see `_promise`)
        self._ahead = False
        self._has_stores: dict[int, bool] = {}
        self.threads = [Vcpu(t, spec, prog) for t, spec in enumerate(prog.threads)]
        self._orders = [[self.threads[c]] + [t for t in self.threads if t.tid != c]
                        for c in range(len(self.threads))]     # _events: the current vCPU first
        self._insns: dict[int, Insn] = {}     # vCPUs' code never overlaps differently
        self._runs: dict[int, list[Insn]] = {}
        lo, hi = prog.data, prog.data + prog.data_size - 1
        for t in self.threads:
            t.hook(UC_HOOK_MEM_READ, lo, hi, lambda _h, _a, address, size, _v, _k, t=t:
                       self._on_read(t, address, size))
            t.hook(UC_HOOK_MEM_WRITE, lo, hi, lambda _h, _a, address, size, value, _k:
                       self._writes.append((address, size, value & ((1 << (8 * size)) - 1))))
        for t in self.threads:                           # every instruction decodes, or a clear error
            for pc in t.code:
                if pc >= t.spec.entry:
                    self.insn(t, pc, strict=False)

    # -- decoding --------------------------------------------------------------------------
    def insn(self, t: Vcpu, pc: int, strict: bool = True) -> Insn | None:
        got = self._insns.get(pc)
        if got is None:
            if pc not in t.code:
                raise FfaemuError(f"vCPU {t.tid} ran outside its code (pc {pc:#x})")
            try:
                got = decode(t.code[pc], pc)
            except FfaemuError:
                if strict:
                    raise
                return None
            self._insns[pc] = got
        return got

    # -- one execution ---------------------------------------------------------------------
    def run(self, deviations: dict[int, int] | None = None, rng: random.Random | None = None,
            trace: bool = False, switch_prob: float = 0.15, keep: bool = False,
            resume: tuple | None = None, leaf: bool = False) -> Outcome:
        """One execution. `keep`: the Outcome's `snapshots` hold the run's whole state just
        before each event choice, `(choices made so far, ...)`, one per count (the latest);
        `resume`: one of them, from a run whose choices before it are the ones `deviations`
        makes: the run continues from there instead of from the start (prefix sharing: the
        same Outcome, without re-running the prefix). Not with `trace`. `leaf`: no run will
        deviate from this one after its last deviation, whose alternatives need not be
        counted then: past it, no vCPU looks ahead for a promise (a default choice never takes
        one: a vCPU's promise comes after its block among the events), and `choices` ends
        there; everything else is the same."""
        self.deviations = dict(deviations or {})
        # look-aheads stop once this many choices are made (never: -1)
        self._settled = max(self.deviations, default=-1) + 1 if leaf and rng is None else -1
        self.rng, self.switch_prob = rng, switch_prob
        self.trace: list[Event] | None = [] if trace else None
        self.error: Exception | None = None
        self._floor = None
        if resume is None:
            self.mem: list[Msg] = []
            self.choices: list[tuple[int, int]] = []         # (alternatives, taken)
            for t in self.threads:
                t.reset()
            current, first = 0, 0
        else:
            if trace:
                raise ValueError("a resumed run has no trace of its prefix")
            _, first, current, mem, choices, frozen = resume
            self.mem, self.choices = list(mem), list(choices)
            for t, f in zip(self.threads, frozen):
                t.thaw(f)
        snapshots = [] if keep else None
        failure = None
        for step in range(first, EVENTS_PER_RUN):
            events = self._events(current)
            if not events:
                if all(t.done and not t.buffer for t in self.threads):
                    break
                failure = "deadlock: no vCPU can make progress (each waits for a write that never comes)"
                break
            if keep:        # after _events: with the look-aheads it made (a resume finds them cached)
                snap = resume if step == first and resume is not None else (
                    len(self.choices), step, current, tuple(self.mem), tuple(self.choices),
                    tuple(t.freeze() for t in self.threads))
                if snapshots and snapshots[-1][0] == snap[0]:
                    snapshots[-1] = snap                   # no choice since: the later one
                else:
                    snapshots.append(snap)
            kind, tid, arg = events[self._choose(len(events), switch=True)]
            t = self.threads[tid]
            if kind == "drain":
                t.frozen_state = None
                self._drain(t, arg)
            elif kind == "promise":
                t.frozen_state = None
                self._promise(t, arg)
            else:
                t.frozen_state = t.frozen_cpu = None
                self._block(t)
                current = tid
        else:
            failure = f"no progress after {EVENTS_PER_RUN} events (livelock?)"
        unreached = [i for i in self.deviations if i >= len(self.choices)]
        if unreached:
            raise FfaemuError(f"schedule does not replay: the run has {len(self.choices)} choices, "
                              f"none numbered {unreached[0]}")
        regs = [[t.uc.reg_read(r) for r in X_REGS] for t in self.threads] if self.want_regs else []
        memory = {}
        for m in self.mem:
            memory[m.loc] = m.val
        devs = {i: c for i, (_, c) in enumerate(self.choices) if c}
        valid = not any(t.promise for t in self.threads)
        out = Outcome(regs, memory, [n for n, _ in self.choices], devs, self.trace,
                      failure if valid else None, valid)
        out.snapshots = snapshots
        return out

    def _choose(self, n: int, switch: bool = False) -> int:
        if n == 1 or self._ahead:
            return 0
        i = len(self.choices)
        if i in self.deviations:
            c = self.deviations[i]
            if c >= n:
                raise FfaemuError(f"schedule does not replay: choice {i} has {n} alternatives, not {c + 1}")
        elif self.rng is not None:
            if switch:
                c = self.rng.randrange(1, n) if self.rng.random() < self.switch_prob else 0
            else:
                c = self.rng.randrange(n)
        else:
            c = 0
        self.choices.append((n, c))
        return c

    def _events(self, current: int) -> list[tuple[str, int, int]]:
        """Enabled events, the current vCPU's first: its drains, its next block; then the others'."""
        events = []
        for t in self._orders[current]:
            tid = t.tid
            if t.buffer:
                seen = set()
                for i, (m, _) in enumerate(t.buffer):
                    if m.loc not in seen:
                        seen.add(m.loc)
                        events.append(("drain", tid, i))
            if self._can_run(t):
                events.append(("block", tid, 0))
                if self.promises and t.promise is None and not 0 <= self._settled <= len(self.choices):
                    cand = self._candidate(t)
                    if cand is not None:
                        events.append(("promise", tid, cand))
        return events

    def _can_run(self, t: Vcpu) -> bool:
        if t.done or t.wait_len == len(self.mem):
            return False
        if t.pc() == t.spec.end:
            return True
        return not (t.buffer and self.insn(t, t.pc()).needs_empty_buffer)

    def _block(self, t: Vcpu) -> None:
        """Run `t` up to its next visible event and on to just before its next load or write."""
        visible = False
        t.wait_len, t.ahead = -1, None
        end, insns, sc = t.spec.end, self._insns, self.sc
        steps = 0                     # as instructions one at a time, straight runs as one
        while steps < STEPS_PER_BLOCK:
            pc = t.at
            if pc == end:
                t.done = True
                return
            insn = insns.get(pc) or self.insn(t, pc)
            kind = insn.kind
            if insn.needs_empty_buffer and t.buffer:
                return
            if kind == LOAD or kind == ATOMIC or insn.direct_write or (sc and kind == STORE):
                if visible:
                    return
                self._floor = None
                if pc in t.block_reads:                # a spin (a load again, no store since):
                    # only a newer write is worth reading; loops that count reads are not modelled
                    loc, ts = t.block_reads[pc]
                    if not any(m.loc == loc for m in self.mem[ts:]):
                        t.wait_len = len(self.mem)     # wait until memory changes
                        return
                    self._floor = (loc, ts)
            if kind == LOCAL and (insn.jump or not insn.flow):
                steps += self._straight(t, pc)
                continue
            steps += self._step(t, insn)
            if kind == STORE or kind == ATOMIC:
                t.block_reads = {}                     # a store: a loop around it is no spin
                visible = True
            elif sc and kind == LOAD:
                visible = True
        raise FfaemuError(f"vCPU {t.tid} ran {STEPS_PER_BLOCK} instructions without a visible "
                          "memory event (a loop without loads or stores?)")

    # -- instructions ----------------------------------------------------------------------
    # A vCPU's local instructions run in as few emu_starts as possible: a run of straight-line
    # ones and the branch that ends it, if any, together, and right after the load or store
    # before them. The model's bookkeeping is the same, in the same order, as one instruction
    # at a time; so are the step limits (STEPS_PER_BLOCK, AHEAD_STEPS), which count a straight
    # run as one step and every other instruction as one: each call returns its steps.
    def _local_run(self, t: Vcpu, pc: int) -> tuple[list[Insn], int]:
        """The local instructions from `pc` up to the first other one or branch (included),
        and how many steps they count for (cached per PC)."""
        got = self._runs.get(pc)
        if got is None:
            run, a = [], pc
            while a != t.spec.end and a in t.code:
                i = self.insn(t, a)
                if i.kind != LOCAL or (i.flow and not i.jump):
                    break
                run.append(i)
                a += 4
                if i.flow:
                    break
            steps = (len(run) > 1 or not run[-1].flow) + run[-1].flow if run else 0
            got = self._runs[pc] = (run, steps)
        return got

    def _straight(self, t: Vcpu, pc: int) -> int:
        """A run of local instructions (`_local_run`) in one emu_start (no re-translation per
        instruction); their register views are propagated here."""
        run, steps = self._runs.get(pc) or self._local_run(t, pc)
        err = emu_start(t.handle, pc, STOP_NEVER, 0, len(run))
        if err:
            raise UcError(err)
        self._locals(t, run, pc + 4 * len(run))
        return steps

    def _locals(self, t: Vcpu, run: list[Insn], end: int) -> None:
        """After `run` was emulated: the PC, and the register views its instructions pass on."""
        t.at = t.read_pc() if run and run[-1].flow else end
        reg, trace = t.reg, self.trace
        for insn in run:
            reads = insn.reads
            if not reads:
                v = 0
            elif len(reads) == 1:
                v = reg[reads[0]]
            else:
                v = max([reg[s] for s in reads])
            for w in insn.writes:
                reg[w] = v
            if insn.branch and v > t.vcap:
                t.vcap = v
            if trace is not None:
                trace.append(Event(t.tid, insn.pc, insn.text))

    def _step(self, t: Vcpu, insn: Insn) -> int:
        """One instruction, and the local run after a load or store (`_local_run`) with it;
        returns the steps taken."""
        self._cur, self._reads, self._writes = insn, [], []
        kind, pc = insn.kind, insn.pc
        if insn.compare is not None:
            self._cas_expect = t.uc.reg_read(X_REGS[insn.compare])
        if insn.xstore is not None:
            xstore = self._exclusive_write(t, insn)
        # Not after a store-exclusive: the model writes its status register after the step.
        run, steps = self._local_run(t, pc + 4) if (kind == LOAD or kind == STORE) and \
            not insn.exclusive else ((), 0)
        err = emu_start(t.handle, pc, STOP_NEVER, 0, 1 + len(run))
        if err:
            raise UcError(err)
        t.at = t.read_pc() if insn.flow else pc + 4
        if insn.xstore is not None:
            self._writes = [xstore]           # the model, not Unicorn's monitor, decides (below)
        if self.error is not None:
            err, self.error = self.error, None
            raise err
        note = ""
        if kind == LOAD or kind == ATOMIC:
            note = self._after_load(t, insn)
        if kind == STORE or kind == ATOMIC:
            note = " ".join(filter(None, [note, self._after_store(t, insn)]))
        elif kind == FENCE:
            self._fence(t, insn.fence)
        elif insn.kind != LOAD:
            v = t.view(insn.reads)
            for w in insn.writes:
                t.reg[w] = v
            if insn.branch:
                t.vcap = max(t.vcap, v)
        if self.trace is not None:
            self.trace.append(Event(t.tid, insn.pc, insn.text, note))
        if run:
            self._locals(t, run, insn.pc + 4 + 4 * len(run))
        return 1 + steps

    def _exclusive_write(self, t: Vcpu, insn: Insn) -> tuple[int, int, int]:
        """STXR's (address, size, value), from its registers: Unicorn's own exclusive monitor
        may fail a store the model lets succeed (and still fire the write hook)."""
        data, base, size = insn.xstore
        value = t.uc.reg_read(X_REGS[data]) if data is not None else 0
        return t.uc.reg_read(X_REGS[base]), size, value & ((1 << (8 * size)) - 1)

    def _on_read(self, t: Vcpu, address: int, size: int) -> None:
        try:
            insn = self._cur
            if insn.kind == STORE:            # STXR's compare-and-swap read: not a load
                return
            post, m = self._read(t, insn, address, size)
            val = m.val if m is not None else self.prog.init.get(address, 0)
            ctypes.memmove(t.page_at + address, (val & ((1 << (8 * size)) - 1)).to_bytes(size, "little"), size)
            self._reads.append((address, post, val))
        except BaseException as e:        # noqa: BLE001 - re-raised after the step
            self.error = self.error or e
            uc_stop(t.handle)

    def _read(self, t: Vcpu, insn: Insn, loc: int, size: int) -> tuple[int, Msg | None]:
        """Choose the message a load reads; returns (post view, message or None for the initial value)."""
        for m, view in reversed(t.buffer):                # own buffered write: forwarded
            if m.loc == loc:
                self._check_size(m, size)
                pre = max(t.view(insn.addr), t.vrp, t.vrel if insn.acquire == ACQ_SC else 0)
                self._last_read = (None, m, "forwarded from its own buffered write")
                return max(pre, view), m
        writes = [ts for ts, m in enumerate(self.mem, 1) if m.loc == loc]
        pre = max(t.view(insn.addr), t.vrp, t.vrel if insn.acquire == ACQ_SC else 0)
        if self.sc or insn.kind == ATOMIC:                # an atomic reads the newest write
            cands = writes[-1:] or [0]
        else:
            bound = max(t.coh.get(loc, 0), pre)
            older = [ts for ts in writes if ts <= bound]
            cands = list(reversed([ts for ts in writes if ts > bound])) + [older[-1] if older else 0]
        if self._floor is not None and self._floor[0] == loc:
            cands = [c for c in cands if c > self._floor[1]]
        ts = cands[self._choose(len(cands))]
        t.block_reads[insn.pc] = (loc, ts)
        m = self.mem[ts - 1] if ts else None
        if m is not None:
            self._check_size(m, size)
        self._last_read = (ts, m, writes)                 # for _describe_read
        t.reads.append((insn.pc, ts))
        post = max(pre, ts)
        t.coh[loc] = max(t.coh.get(loc, 0), post)
        if insn.exclusive:
            t.excl = (loc, ts)
        return post, m

    def _check_size(self, m: Msg, size: int) -> None:
        if m.size != size:
            raise FfaemuError(f"mixed-size accesses to {self.prog.loc_name(m.loc)} ({m.size} and {size} "
                              "bytes) are not modelled")

    def _after_load(self, t: Vcpu, insn: Insn) -> str:
        post = 0
        for _, p, _ in self._reads:
            if p > post:
                post = p
        addr = t.view(insn.addr)      # a written-back base only joins post: the same for all
        for w in insn.writes:
            if w != insn.status:
                t.reg[w] = max(post, addr)
        t.vrm = max(t.vrm, post)
        t.vcap = max(t.vcap, t.view(insn.addr))       # after a write-back, as written
        if insn.acquire:
            t.vrp, t.vwp = max(t.vrp, post), max(t.vwp, post)
        return self._describe_read(t) if self._reads and self.trace is not None else ""

    def _after_store(self, t: Vcpu, insn: Insn) -> str:
        data = [s for s in insn.reads if s not in insn.addr]
        view = max(t.view(insn.addr), t.view(data))
        t.vcap = max(t.vcap, t.view(insn.addr))
        writes = self._writes
        if insn.atomic_op == "cas" and self._reads and writes:
            mask = (1 << (8 * writes[0][1])) - 1
            if self._reads[0][2] != self._cas_expect & mask:
                writes = []                                # a failed CAS: Unicorn's write is a no-op
        if insn.exclusive:
            ok = bool(writes) and t.excl is not None and t.excl[0] == writes[0][0] and not any(
                m.loc == t.excl[0] and m.tid != t.tid for m in self.mem[t.excl[1]:])
            t.excl = None
            if not ok:
                t.uc.reg_write(X_REGS[insn.status], 1)
                t.reg[insn.status] = len(self.mem)
                return "store-exclusive fails (another vCPU wrote the location)" if writes else ""
            t.reg[insn.status] = len(self.mem) + 1
            t.uc.reg_write(X_REGS[insn.status], 0)
        notes = [] if self.trace is not None else None        # what happened, for a trace
        for loc, size, val in writes:
            m = Msg(loc, val, size, t.tid, insn.pc)
            if t.promise is not None and not insn.direct_write and self._fulfils(t, m, view):
                ts, t.promise = t.promise[0], None
                t.coh[loc], t.vwm = ts, max(t.vwm, ts)
                note = notes is not None and \
                    f"fulfils its promise, write #{ts} ({self.prog.loc_name(loc)}={val:#x})"
            elif insn.direct_write or self.sc:
                note = self._append(t, m, release=insn.release)
            else:
                t.buffer.append((m, view))
                note = notes is not None and \
                    f"{self.prog.loc_name(loc)}={val:#x} into vCPU {t.tid}'s write buffer"
            if notes is not None:
                notes.append(note)
        return "; ".join(notes) if notes else ""

    # -- promises: read->write reordering (Promising-ARM's promise and fulfil steps) -----------
    # A vCPU may append a write it will make later (a promise) before the loads that precede it;
    # other vCPUs may read it at once. Its own store fulfils it only under Promising-ARM's
    # `writable` rule (Promising.v: the write's view, vcap and vwp below the promise, coherence
    # below it); a run that ends with a promise unfulfilled is no execution and is dropped
    # (promising-arm's Coq, Promising.v: `Machine.exec` is any run of promise and state steps
    # with no promise left at the end). Candidates: the vCPU run ahead alone, newest reads.
    AHEAD_STEPS = 64

    def _candidate(self, t: Vcpu) -> Msg | None:
        """The first plain store `t` makes after a load, running alone from here (cached)."""
        if t.ahead is not None:                     # until the vCPU runs again
            return t.ahead[1]
        t.frozen_state = None                       # t.ahead changes (below)
        pc = t.pc()
        if pc == t.spec.end or self.insn(t, pc).kind != LOAD or not self._stores(t):
            t.ahead = (len(self.mem), None)
            return None
        saved, trace, floor = t.save(), self.trace, self._floor
        ctx = t.ahead_ctx.context
        err = ctx_save(t.handle, ctx)
        if err:
            raise UcError(err)
        self._ahead, self.trace, found, loaded = True, None, None, False
        try:
            steps = 0
            while steps < self.AHEAD_STEPS:
                pc = t.pc()
                if pc == t.spec.end:
                    break
                insn = self.insn(t, pc)
                if insn.kind == ATOMIC or insn.direct_write or insn.exclusive or \
                        (insn.needs_empty_buffer and t.buffer):
                    break
                if insn.kind == LOCAL and (insn.jump or not insn.flow):
                    steps += self._straight(t, pc)
                    continue
                self._floor = None
                steps += self._step(t, insn)
                loaded |= insn.kind == LOAD
                if insn.kind == STORE and loaded and t.buffer:
                    found = t.buffer[-1][0]
                    break
        except FfaemuError:
            found = None
        finally:
            self._ahead, self.trace, self._floor = False, trace, floor
            ctx_restore(t.handle, ctx)
            t.restore(saved)
        t.ahead = (len(self.mem), found)
        return found

    def _stores(self, t: Vcpu) -> bool:
        """Whether `t`'s code has a plain store at all (else it never promises)."""
        if t.tid not in self._has_stores:
            insns = [self.insn(t, pc, strict=False) for pc in t.code if pc >= t.spec.entry]
            self._has_stores[t.tid] = any(i is not None and i.kind == STORE and not i.direct_write
                                          for i in insns)
        return self._has_stores[t.tid]

    def _promise(self, t: Vcpu, m: Msg) -> None:
        self.mem.append(Msg(m.loc, m.val, m.size, t.tid, m.pc))
        t.promise, t.ahead = (len(self.mem), self.mem[-1]), None
        if self.trace is not None:
            self.trace.append(Event(t.tid, m.pc, "(promise)", f"{self.prog.loc_name(m.loc)}={m.val:#x} "
                                    f"promised as write #{len(self.mem)}"))

    def _fulfils(self, t: Vcpu, m: Msg, view: int) -> bool:
        """Promising.v `writable`: view_ext = addr, data, vcap, vwp; coh[loc] and view_ext < ts."""
        ts, p = t.promise
        return (p.loc, p.val, p.size) == (m.loc, m.val, m.size) \
            and not any(b.loc == m.loc for b, _ in t.buffer) \
            and max(view, t.vcap, t.vwp) < ts and t.coh.get(m.loc, 0) < ts

    def _append(self, t: Vcpu, m: Msg, release: bool = False) -> str:
        self.mem.append(m)
        ts = len(self.mem)
        t.coh[m.loc] = ts
        t.vwm = max(t.vwm, ts)
        if release:
            t.vrel = max(t.vrel, ts)
        if self.trace is None:
            return ""
        return f"{self.prog.loc_name(m.loc)}={m.val:#x} visible as write #{ts}"

    def _drain(self, t: Vcpu, i: int) -> None:
        m, _ = t.buffer.pop(i)
        note = self._append(t, m)
        if self.trace is not None:
            self.trace.append(Event(t.tid, m.pc, "(write buffer drains)", note))

    def _fence(self, t: Vcpu, kind: str) -> None:
        """Arm ARM B2.3 barrier ordering, as Promising-ARM's view updates (MEMORY-MODEL.md)."""
        if kind == F_FULL:
            v = max(t.vrm, t.vwm)
            t.vrp, t.vwp = max(t.vrp, v), max(t.vwp, v)
        elif kind == F_LD:
            t.vrp, t.vwp = max(t.vrp, t.vrm), max(t.vwp, t.vrm)
        elif kind == F_ST:
            t.vwp = max(t.vwp, t.vwm)
        elif kind == F_ISB:
            t.vrp = max(t.vrp, t.vcap)

    def _describe_read(self, t: Vcpu) -> str:
        ts, m, writes = self._last_read
        if ts is None:
            return f"reads {self.prog.loc_name(m.loc)}={m.val:#x} {writes}"
        newer = [w for w in writes if w > ts]
        loc = self.prog.loc_name(self._reads[-1][0])
        src = "the initial value" if m is None else f"write #{ts} by vCPU {m.tid}"
        val = (m.val if m is not None else self.prog.init.get(self._reads[-1][0], 0))
        text = f"reads {loc}={val:#x} ({src})"
        if newer:
            n = newer[0]
            w = self.mem[n - 1]
            text += f"; STALE: write #{n} ({loc}={w.val:#x} by vCPU {w.tid}) was already in memory"
            later = [(pc, r) for pc, r in t.reads[:-1] if r > n]
            if later:
                pc, r = later[-1]
                lm = self.mem[r - 1]
                text += (f", and this vCPU's earlier load at {pc:#x} read write #{r} "
                         f"({self.prog.loc_name(lm.loc)}={lm.val:#x}), which came after it: the model "
                         "satisfied the two loads out of order (nothing orders them: no acquire, "
                         "barrier or dependency)")
            else:
                text += " (nothing orders this load after it)"
        return text
