"""herd7 AArch64 litmus tests: parse, run under the ARMv8 (or SC) model, print herd-style results.

The format is herd7's (diy7/herd7 documentation, "litmus tests"; MEMORY-MODEL.md): a header
`AArch64 NAME`, optional `Key=value` and quoted lines, an init block `{ 0:X1=x; x=1; }`, a thread
table (`P0 | P1 ;` then one instruction per thread per row), and a final condition `exists`,
`~exists` or `forall` over `T:Xn=v`, `loc=v` and `[loc]=v` joined by `/\\` and `\\/`.
Anything else (page tables, memory tags, `locations`/`filter` clauses, instructions the model
does not order) is refused with a one-line error naming it, never run with a guessed meaning.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..assembler import assemble
from ..errors import FfaemuError
from . import memmodel, search
from .encode import encode_special
from .insn import decode

CODE_BASE, CODE_STRIDE = 0x1000_0000, 0x1_0000
DATA_BASE, LOC_STRIDE = 0x5000_0000, 0x40
MASK64 = (1 << 64) - 1
_TYPES = ("int", "uint32_t", "uint64_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "int8_t",
          "int16_t", "intptr_t")
_UNSUPPORTED = [(re.compile(r"\bPTE\s*\(|\bPA\s*\(|\bTTD\b"), "page-table entries (PTE/PA)"),
                (re.compile(r"\bTLBI\b", re.I), "TLB maintenance (TLBI)"),
                (re.compile(r"\b(STG|LDG|STZG|ST2G|IRG)\b", re.I), "memory tagging (MTE)"),
                (re.compile(r":\s*(red|green|blue)\b|\btag\s*\("), "memory tags"),
                (re.compile(r"\bDC\s+C", re.I), "cache maintenance (DC)"),
                (re.compile(r"\bIC\s+I", re.I), "cache maintenance (IC)")]


@dataclass
class Atom:
    thread: int | None        # None: a memory location
    name: str                 # register (X0) or location
    value: int | str


@dataclass
class Litmus:
    name: str
    init_regs: dict[int, dict[int, int | str]]
    init_mem: dict[str, int | str]
    code: list[list[str]]                     # per thread, its instruction lines
    quantifier: str                           # exists, ~exists, forall
    cond: object                              # ("and"|"or", [..]) | ("not", x) | Atom
    locations: list[str] = field(default_factory=list)
    path: str = "<litmus>"

    def atoms(self, node=None) -> list[Atom]:
        node = self.cond if node is None else node
        if isinstance(node, Atom):
            return [node]
        if node[0] == "not":
            return self.atoms(node[1])
        return [a for sub in node[1] for a in self.atoms(sub)]


def _err(path: str, msg: str) -> FfaemuError:
    return FfaemuError(f"{path}: {msg}")


def _reg(name: str, path: str) -> int:
    m = re.fullmatch(r"[XxWw](\d+)", name.strip())
    if not m or int(m.group(1)) > 30:
        raise _err(path, f"bad register '{name.strip()}'")
    return int(m.group(1))


def _value(text: str, path: str) -> int | str:
    text = text.strip()
    if re.fullmatch(r"-?(0x[0-9a-fA-F]+|\d+)", text):
        return int(text, 0) & MASK64
    if re.fullmatch(r"[A-Za-z_]\w*", text):
        return text
    raise _err(path, f"bad value '{text}'")


def parse(text: str, path: str = "<litmus>") -> Litmus:
    """Parse a herd7 AArch64 litmus test; raise FfaemuError naming the first unsupported part."""
    text = re.sub(r"\(\*.*?\*\)", " ", text, flags=re.S)
    for rx, what in _UNSUPPORTED:
        if rx.search(text):
            raise _err(path, f"unsupported feature: {what}")
    lines = text.strip().splitlines()
    if not lines:
        raise _err(path, "empty file")
    head = lines[0].split()
    if len(head) < 2 or head[0] != "AArch64":
        raise _err(path, f"unsupported architecture line '{lines[0].strip()}' (expected 'AArch64 NAME')")
    name, rest = head[1], "\n".join(lines[1:])
    start, end = rest.find("{"), rest.find("}")
    if start < 0 or end < start:
        raise _err(path, "missing init block { ... }")
    init_regs, init_mem = _parse_init(rest[start + 1:end], path)
    body = rest[end + 1:]
    m = re.search(r"^\s*(~\s*exists|exists|forall)\b", body, flags=re.M)
    if not m:
        for word in ("filter", "locations"):
            if re.search(rf"^\s*{word}\b", body, flags=re.M):
                raise _err(path, f"unsupported clause '{word}'")
        raise _err(path, "missing final condition (exists, ~exists or forall)")
    table = body[:m.start()]
    locations = []
    lm = re.search(r"^\s*locations\s*\[([^\]]*)\]\s*;?", table, flags=re.M)
    if lm:
        locations = [x.strip() for x in lm.group(1).split(";") if x.strip()]
        table = table[:lm.start()] + table[lm.end():]
    if re.search(r"^\s*filter\b", table, flags=re.M):
        raise _err(path, "unsupported clause 'filter'")
    code = _parse_table(table, path)
    quant = re.sub(r"\s+", "", m.group(1))
    cond = _Cond(body[m.end():], path).parse()
    for t in init_regs:
        if t >= len(code):
            raise _err(path, f"init names thread {t}, but the table has {len(code)}")
    return Litmus(name, init_regs, init_mem, code, quant, cond, locations, path)


def _parse_init(block: str, path: str):
    regs: dict[int, dict[int, int | str]] = {}
    mem: dict[str, int | str] = {}
    for item in block.split(";"):
        item = item.strip()
        if not item:
            continue
        if "=" not in item:
            raise _err(path, f"bad init entry '{item}'")
        lhs, rhs = (s.strip() for s in item.split("=", 1))
        words = lhs.split()
        if len(words) == 2 and words[0] in _TYPES:
            lhs = words[1]
        elif len(words) != 1:
            raise _err(path, f"unsupported init entry '{item}'")
        if "*" in lhs or "*" in rhs:
            raise _err(path, f"unsupported init entry '{item}' (pointer types)")
        tm = re.fullmatch(r"(\d+):(\w+)", lhs)
        if tm:
            regs.setdefault(int(tm.group(1)), {})[_reg(tm.group(2), path)] = _value(rhs, path)
        else:
            loc = lhs.strip("[]")
            if not re.fullmatch(r"[A-Za-z_]\w*", loc):
                raise _err(path, f"bad location '{lhs}'")
            mem[loc] = _value(rhs, path)
    return regs, mem


def _parse_table(table: str, path: str) -> list[list[str]]:
    rows = [r.strip() for r in table.split(";") if r.strip()]
    rows = [r for r in rows if not (r.startswith('"') or re.fullmatch(r"[\w.+-]+\s*=.*", r) and "|" not in r
                                    and not re.match(r"P\d", r))]
    if not rows:
        raise _err(path, "missing thread table")
    header = [c.strip() for c in rows[0].split("|")]
    if not all(re.fullmatch(r"P\d+", c) for c in header) or \
            [int(c[1:]) for c in header] != list(range(len(header))):
        raise _err(path, f"bad thread table header '{rows[0]}' (expected 'P0 | P1 | ... ;')")
    code: list[list[str]] = [[] for _ in header]
    for row in rows[1:]:
        cells = [c.strip() for c in row.split("|")]
        if len(cells) > len(header):
            raise _err(path, f"row '{row}' has {len(cells)} columns, the header {len(header)}")
        for t, cell in enumerate(cells):
            if cell:
                code[t].append(cell)
    return code


class _Cond:
    """exists/forall proposition: or of ands of atoms, with parentheses and `not`/`~`."""
    TOKEN = re.compile(r"\s*(/\\|\\/|\(|\)|~|not\b|true\b|false\b|\[?[\w:]+\]?\s*=\s*-?\w+)")

    def __init__(self, text: str, path: str):
        self.path, self.toks, pos = path, [], 0
        text = text.strip()
        while pos < len(text):
            m = self.TOKEN.match(text, pos)
            if not m:
                if text[pos:].strip() in ("", ";"):
                    break
                raise _err(path, f"cannot parse the condition at '{text[pos:].strip()[:30]}'")
            self.toks.append(m.group(1).strip())
            pos = m.end()
        self.i = 0

    def parse(self):
        node = self._or()
        if self.i != len(self.toks):
            raise _err(self.path, f"unexpected '{self.toks[self.i]}' in the condition")
        return node

    def _peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _or(self):
        items = [self._and()]
        while self._peek() == "\\/":
            self.i += 1
            items.append(self._and())
        return items[0] if len(items) == 1 else ("or", items)

    def _and(self):
        items = [self._factor()]
        while self._peek() == "/\\":
            self.i += 1
            items.append(self._factor())
        return items[0] if len(items) == 1 else ("and", items)

    def _factor(self):
        tok = self._peek()
        if tok is None:
            raise _err(self.path, "the condition ends too early")
        self.i += 1
        if tok == "(":
            node = self._or()
            if self._peek() != ")":
                raise _err(self.path, "missing ')' in the condition")
            self.i += 1
            return node
        if tok in ("~", "not"):
            return ("not", self._factor())
        if tok in (")", "/\\", "\\/"):
            raise _err(self.path, f"the condition ends too early (unexpected '{tok}')")
        if tok in ("true", "false"):
            return ("and", []) if tok == "true" else ("or", [])
        lhs, rhs = (s.strip() for s in tok.split("="))
        m = re.fullmatch(r"(\d+):(\w+)", lhs)
        if m:
            return Atom(int(m.group(1)), f"X{_reg(m.group(2), self.path)}", _value(rhs, self.path))
        loc = lhs.strip("[]")
        if not re.fullmatch(r"[A-Za-z_]\w*", loc):
            raise _err(self.path, f"bad location '{lhs}' in the condition")
        return Atom(None, loc, _value(rhs, self.path))


def _holds(node, env) -> bool:
    if isinstance(node, Atom):
        return env(node)
    if node[0] == "not":
        return not _holds(node[1], env)
    if node[0] == "and":
        return all(_holds(n, env) for n in node[1])
    return any(_holds(n, env) for n in node[1])


# -- building and running -----------------------------------------------------------------
def to_machine_code(lines: list[str], base: int, where: str) -> bytes:
    """One thread's instructions as machine code, each checked to be one the model orders.

    The one place litmus text becomes machine code: LDAPR and the LSE atomics through the small
    encoder (exact, checked against GNU as, no subprocess), everything else through the
    project's assembler (keystone, and LLVM for what keystone cannot encode).
    """
    labels, insns = {}, []
    for ln in lines:
        m = re.match(r"\s*([A-Za-z_]\w*)\s*:\s*(.*)$", ln)
        if m:
            labels[m.group(1)] = base + 4 * len(insns)
        text = m.group(2) if m else ln
        if text.strip():                                  # a label alone names the next one
            insns.append(text)
    words = []
    for i, insn in enumerate(insns):
        pc = base + 4 * i
        word = encode_special(insn, where)
        if word is None:
            src = insn
            for lab, addr in labels.items():
                src = re.sub(rf"\b{re.escape(lab)}\b", f"{addr:#x}", src)
            try:
                code = assemble(src, pc, filename=where).code
            except FfaemuError:
                code = b""
            if len(code) != 4:
                raise FfaemuError(f"{where}: unsupported instruction '{insn.strip()}'")
            word = int.from_bytes(code, "little")
        try:
            decode(word, pc)
        except FfaemuError as e:
            raise FfaemuError(f"{where}: {e}") from None
        words.append(word)
    return b"".join(w.to_bytes(4, "little") for w in words)


class Built:
    """A litmus test as a memmodel.Program, with its location addresses."""

    def __init__(self, test: Litmus):
        self.test = test
        locs = list(dict.fromkeys(
            list(test.init_mem) + [v for r in test.init_regs.values() for v in r.values() if isinstance(v, str)]
            + [v for v in test.init_mem.values() if isinstance(v, str)]
            + [a.name for a in test.atoms() if a.thread is None] + test.locations))
        self.addr = {name: DATA_BASE + LOC_STRIDE * i for i, name in enumerate(locs)}
        if len(locs) * LOC_STRIDE > 0x1_0000:
            raise _err(test.path, "too many locations")
        threads = []
        for t, lines in enumerate(test.code):
            base = CODE_BASE + CODE_STRIDE * t
            code = to_machine_code(lines, base, f"{test.path}: P{t}")
            regs = {n: self.resolve(v) for n, v in test.init_regs.get(t, {}).items()}
            threads.append(memmodel.ThreadSpec([(base, code or b"\x00" * 4)], base, base + len(code), regs, f"P{t}"))
        init = {self.addr[n]: self.resolve(v) for n, v in test.init_mem.items()}
        self.program = memmodel.Program(threads, DATA_BASE, 0x1_0000, init,
                                        {a: n for n, a in self.addr.items()})

    def resolve(self, v: int | str) -> int:
        if isinstance(v, int):
            return v
        if v not in self.addr:
            raise _err(self.test.path, f"unknown location '{v}'")
        return self.addr[v]


@dataclass
class Result:
    test: Litmus
    model: str
    states: dict[tuple, int]                  # state (tuple of (name, value)) -> executions
    positive: int
    negative: int
    executions: int

    @property
    def kind(self) -> str:
        return {"exists": "Allowed", "~exists": "Forbidden", "forall": "Required"}[self.test.quantifier]

    @property
    def ok(self) -> bool:
        if self.test.quantifier == "exists":
            return self.positive > 0
        if self.test.quantifier == "~exists":
            return self.positive == 0
        return self.negative == 0

    @property
    def observation(self) -> str:
        return "Never" if self.positive == 0 else "Always" if self.negative == 0 else "Sometimes"

    def lines(self) -> list[str]:
        t = self.test
        out = [f"Test {t.name} {self.kind}", f"States {len(self.states)}"]
        for state, n in sorted(self.states.items()):
            out.append(f"{n:>6} :> " + " ".join(f"{k}={v};" for k, v in state))
        cond = "exists" if t.quantifier == "exists" else t.quantifier
        out += ["Ok" if self.ok else "No", "Witnesses",
                f"Positive: {self.positive} Negative: {self.negative}",
                f"Condition {cond} {show_top(t.cond)}",
                f"Observation {t.name} {self.observation} {self.positive} {self.negative}"]
        return out

    def as_json(self) -> dict:
        return {"test": self.test.name, "model": self.model, "kind": self.kind,
                "condition": f"{self.test.quantifier} {show_top(self.test.cond)}",
                "states": [{"state": dict(s), "count": n} for s, n in sorted(self.states.items())],
                "ok": self.ok, "observation": self.observation, "positive": self.positive,
                "negative": self.negative, "executions": self.executions}


def show_top(node) -> str:
    """The condition as herd7 prints it: always parenthesised."""
    text = show(node)
    return text if text.startswith("(") and not isinstance(node, Atom) and node[0] != "not" else f"({text})"


def show(node, top: bool = True) -> str:
    if isinstance(node, Atom):
        v = node.value if isinstance(node.value, str) else str(node.value)
        return f"{node.thread}:{node.name}={v}" if node.thread is not None else f"{node.name}={v}"
    if node[0] == "not":
        return f"~{show(node[1], False)}"
    sep = " /\\ " if node[0] == "and" else " \\/ "
    return f"({sep.join(show(n, False) for n in node[1])})"


MAX_EXECUTIONS = 200_000


def run(test: Litmus, model: str = "armv8", limit: int = MAX_EXECUTIONS, promises: bool = True) -> Result:
    """Every execution of `test` under `model`, grouped by final state."""
    built = Built(test)
    ex = memmodel.Executor(built.program, model, promises=promises)
    shown = []
    for a in test.atoms():
        key = (a.thread, a.name)
        if key not in shown:
            shown.append(key)
    shown += [(None, n) for n in test.locations if (None, n) not in shown]

    def value(out, thread, name):
        if thread is not None:
            if thread >= len(out.regs):
                raise _err(test.path, f"the condition names thread {thread}, but the test has {len(out.regs)}")
            return out.regs[thread][int(name[1:])]
        a = built.resolve(name)
        return out.memory.get(a, built.program.init.get(a, 0))

    def key(out):
        if out.failure:
            raise _err(test.path, out.failure)
        return tuple((f"{t}:{n}" if t is not None else n, value(out, t, n)) for t, n in shown)

    summary = search.explore(ex, key, bound=None, limit=limit)
    if summary.truncated:
        raise _err(test.path, f"more than {limit} executions: too large to explore exhaustively")
    positive = negative = 0
    for state, n in summary.outcomes.items():
        env = dict(state)
        if _holds(test.cond, lambda a: env[f"{a.thread}:{a.name}" if a.thread is not None else a.name]
                  == built.resolve(a.value)):
            positive += n
        else:
            negative += n
    return Result(test, model, summary.outcomes, positive, negative, summary.executions)


def run_file(path: str | Path, model: str = "armv8") -> Result:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise FfaemuError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise FfaemuError(f"{path}: not a text file") from None
    return run(parse(text, str(path)), model)
