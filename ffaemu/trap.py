"""What a Python trap handler (a "model") sees and what it may answer.

A handler attached to EL2 or EL3 is called with a `Trap` for each synchronous
exception taken to its EL from a lower EL. It returns one action:

- `trap.ret(x0, x1, ...)`: resume the caller as an ERET to the preferred return
  address would (plus 4 for a trapped SMC, which a hypervisor completes:
  Hafnium's `next_pc_increment`); unnamed registers keep the caller's values.
- `trap.forward(...)` (EL2 only, from a generator handler: `res = yield trap.forward()`):
  issue `SMC #0` from EL2 to EL3 with the given x0-x17, so that EL3's handler,
  Python or assembly, sees exactly the registers and syndrome firmware would see.
  Returned instead of yielded, `return trap.forward()` passes the call through: the
  caller gets EL3's x0-x17 as they come back (a hypervisor's plain forward, such as
  pKVM's `__kvm_hyp_host_forward_smc`), with no generator to drive.
- `trap.vector()` or None: take the exception into assembly at VBAR_ELx.
- `trap.stop(reason, code)`: end the run (e.g. PSCI SYSTEM_OFF at EL3).
- `Resume(pc, values)`: the handler installed another context itself (a vCPU switch).
"""
from __future__ import annotations

from dataclasses import dataclass

from .arch.bits import MASK32, s32
from .arch.exceptions import EC, INSN_BYTES, Routing, route

SMCCC_ARG_REGS = 18          # x0-x17 carry SMCCC v1.2 arguments and results (DEN0028 §2.6)


class _Registers:
    """x0.. as the tuple `pos` (x0 first), with `values`, the same as a dict {n: x[n]}, made
    only when something asks for it (the lean trap path reads `pos`)."""

    __slots__ = ()

    @property
    def values(self) -> dict[int, int]:
        if self._values is None:
            self._values = dict(enumerate(self.pos))
        return self._values


class Return(_Registers):
    """Resume the caller at `pc` with x[n] = values[n]. A positional answer (`trap.ret(a,
    b, ...)`) is kept as the tuple `pos` (x0, x1, ...) and `values` is made from it only
    when something asks: the lean trap path writes `pos` straight to the C hook's words."""

    __slots__ = ("_values", "pos", "pc")

    def __init__(self, values: dict[int, int] | None, pc: int, pos: tuple[int, ...] | None = None):
        self._values = values
        self.pc = pc
        self.pos = pos              # x0.. in order, or None (then `values` was given)

    def __eq__(self, other) -> bool:
        if type(other) is not Return:
            return NotImplemented
        return self.values == other.values and self.pc == other.pc

    __hash__ = None

    def __repr__(self) -> str:
        return f"Return(values={self.values!r}, pc={self.pc!r})"

    def __iter__(self):
        """`yield from` an answer forwards nothing and gives the answer: a generator model
        extending one that answers some calls at once (pKVM's negotiated FFA_VERSION) can
        still `return (yield from super().__call__(trap))`."""
        return _answered(self)


_new = object.__new__


def _passed_through(forward: Forward):
    res = yield forward
    return forward.trap.ret(*res.xs)


def _answered(action):
    return action
    yield                   # a generator whose `yield from` value is `action`


class Forward(_Registers):
    """Issue SMC #0 to EL3 with x0-x17 = `pos` (a tuple, x0 first); `values` is the same
    as a dict, made when something asks for it."""

    __slots__ = ("_values", "pos", "trap")

    def __init__(self, values: dict[int, int] | None, pos: tuple[int, ...] | None = None,
                 trap: "Trap | None" = None):
        if values is not None:
            pos = tuple(map(values.get, range(SMCCC_ARG_REGS), (0,) * SMCCC_ARG_REGS))
        self._values, self.pos = values, pos
        self.trap = trap            # the trap it forwards, for a pass-through (`__iter__`)

    def __iter__(self):
        """`yield from` a forward a handler returned (a pass-through) forwards it and gives
        the answer with EL3's x0-x17, so that a generator model extending one that passes
        calls through can still `return (yield from super().__call__(trap))`."""
        return _passed_through(self)

    def __eq__(self, other) -> bool:
        if type(other) is not Forward:
            return NotImplemented
        return self.pos == other.pos

    __hash__ = None

    def __repr__(self) -> str:
        return f"Forward(values={self.values!r})"


@dataclass
class Resume:
    """Continue at `pc` with the CPU state the handler installed (e.g. another vCPU).
    `values` are what the trapping caller was given, for the call trace."""

    pc: int
    values: dict[int, int]


@dataclass
class Vector:
    pass


@dataclass
class Stop:
    reason: str
    code: int | None
    message: str


class Regs:
    """Register values with explicit 64-bit (`x`) and 32-bit (`w`) views."""

    __slots__ = ("_x",)

    def __init__(self, xs: list[int]):
        self._x = xs

    def x(self, n: int) -> int:
        return self._x[n]

    def w(self, n: int) -> int:
        return self._x[n] & MASK32          # arch.bits.w, inline: models call it on every trap

    def s32(self, n: int) -> int:
        return s32(self._x[n])

    @property
    def xs(self) -> list[int]:
        return list(self._x)


_REG_NAMES = {f"x{n}": n for n in range(SMCCC_ARG_REGS)}     # "x5" -> 5, without parsing


def _values(positional: tuple[int, ...], named: dict[str, int]) -> dict[int, int]:
    if len(positional) > SMCCC_ARG_REGS:
        raise TypeError(f"at most {SMCCC_ARG_REGS} result registers")
    out = dict(enumerate(positional))
    for key, value in named.items():
        n = _REG_NAMES.get(key)
        if n is None:
            if not (key.startswith("x") and key[1:].isdigit() and int(key[1:]) < SMCCC_ARG_REGS):
                raise TypeError(f"result register must be x0..x{SMCCC_ARG_REGS - 1}, not {key!r}")
            n = int(key[1:])
        out[n] = value
    return out


_EC = {ec.value: ec for ec in EC}          # a dict lookup is cheaper than EC(value)
_CALLS_WITH_RETURN = (EC.SMC64, EC.HVC64, EC.SVC64)


class Trap(Regs):
    """A synchronous exception delivered to a Python handler, with the caller's x0-x17.

    `ec`, `esr`, `elr`, `from_el` and `to_el` are plain attributes; `routing` (with the
    reason, for traces) is built only when something asks for it."""

    __slots__ = ("ec", "esr", "elr", "from_el", "to_el", "spsr", "insn_addr", "mem",
                 "_routing", "_route_args")

    def __init__(self, routing: Routing, spsr: int, xs: list[int], insn_addr: int, mem=None,
                 esr: int | None = None):
        self._x = xs
        self._routing = routing
        self.ec, self.elr = routing.ec, routing.elr
        self.esr = routing.esr if esr is None else esr        # `esr`: routing.esr, known already
        self.from_el, self.to_el = routing.from_el, routing.to_el
        self.spsr = spsr
        self.insn_addr = insn_addr
        self.mem = mem          # PhysicalMemory: what the model may read and write

    @classmethod
    def lazy(cls, ec: int, esr: int, from_el: int, to_el: int, xs: list[int], insn_addr: int,
             mem, route_args: tuple) -> "Trap":
        """A trap whose Routing is `route(*route_args)`, built on first use (the C fast
        path has already worked out the class, syndrome and target EL)."""
        trap = cls.__new__(cls)
        trap._x = xs
        trap._routing = None
        trap._route_args = route_args            # (intno, pstate, pc, insn, scr, hcr)
        trap.ec, trap.esr, trap.elr = _EC[ec], esr, route_args[2]
        trap.from_el, trap.to_el = from_el, to_el
        trap.spsr = route_args[1]
        trap.insn_addr = insn_addr
        trap.mem = mem
        return trap

    @property
    def routing(self) -> Routing:
        if self._routing is None:
            self._routing = route(*self._route_args)
        return self._routing

    imm16 = property(lambda self: self.esr & 0xFFFF)

    @property
    def completes_insn(self) -> bool:
        """True when returning must skip the trapping instruction (ELR points at it)."""
        return self.elr == self.insn_addr and self.ec in _CALLS_WITH_RETURN

    def ret(self, *values: int, advance: bool | None = None, **named: int) -> Return:
        """Return to the caller with x0.. set from `values` (and `x5=...` style names)."""
        if advance is None:             # completes_insn, inline: every answer asks it
            advance = self.elr == self.insn_addr and self.ec in _CALLS_WITH_RETURN
        if named or len(values) > SMCCC_ARG_REGS:
            return Return(_values(values, named), self.elr + (INSN_BYTES if advance else 0))
        answer = _new(Return)                   # Return(None, pc, values) without __init__
        answer._values, answer.pos = None, values
        answer.pc = self.elr + (INSN_BYTES if advance else 0)
        return answer

    def ret_values(self, values: dict[int, int]) -> Return:
        """`ret(**{f"x{n}": v})` without the names: x[n] = values[n] (n < 18), the
        dict handed over as is."""
        if values and max(values) >= SMCCC_ARG_REGS:
            raise TypeError(f"result register must be x0..x{SMCCC_ARG_REGS - 1}, not x{max(values)}")
        answer = _new(Return)                   # Return(values, pc) without __init__
        answer._values, answer.pos = values, None
        answer.pc = self.elr + (INSN_BYTES if self.completes_insn else 0)
        return answer

    def forward(self, *values: int, **named: int) -> Forward:
        """SMC #0 from EL2 to EL3 with x0.. from `values`, defaulting to the caller's x0-x17."""
        if self.to_el != 2:
            raise TypeError("only an EL2 handler can forward a call to EL3")
        if named or len(values) > SMCCC_ARG_REGS:
            regs = dict(enumerate(self._x[:SMCCC_ARG_REGS]))
            regs.update(_values(values, named))
            return Forward(regs, None, self)
        act = _new(Forward)                     # Forward(None, x0-x17, self) without __init__
        act._values, act.pos, act.trap = None, values + tuple(self._x[len(values):SMCCC_ARG_REGS]), self
        return act

    def vector(self) -> Vector:
        return Vector()

    def stop(self, reason: str, code: int | None = None, message: str = "") -> Stop:
        return Stop(reason, code, message)


class Result(Regs):
    """Registers x0-x17 as EL3 left them when a forwarded SMC returned to EL2."""
