r"""`ldr Rt, =expr` done by the front end, the same way for keystone and LLVM.

Both assemblers accept `ldr Rt, =expr`, but lay out the literal pool differently (LLVM merges
equal entries and pads with zeros, keystone 0.9.2 does neither and pads with NOPs), so the
same source gave different bytes. The front end therefore follows LLVM's rule itself
(AArch64AsmParser::parseOperand, the `=` case): a constant that fits one MOVZ (16 bits at a
shift of 0/16/32/48 for Xt, 0/16 for Wt) becomes that MOVZ; anything else becomes an
`ldr Rt, <pool label>` with an explicit pool (8-byte entries first, then 4-byte ones) at
`.ltorg`/`.pool` or at the end. Each rewritten line stays one line (`;` separates statements).
"""
from __future__ import annotations

import operator
import re

_LDR_EQ = re.compile(r"^(\s*(?:[A-Za-z_.$][\w.$]*:\s*)?)ldr\s+([xw])(\d+|zr)\s*,\s*=\s*(.+?)\s*$", re.I)
_EQU = re.compile(r"^\s*(?:\.equ|\.set|\.equiv)\s+([A-Za-z_.$][\w.$]*)\s*,\s*(.+?)\s*$|"
                  r"^\s*([A-Za-z_.$][\w.$]*)\s*=\s*(.+?)\s*$", re.I)
_LTORG = re.compile(r"^\s*\.(ltorg|pool)\s*$", re.I)
_MASK64 = (1 << 64) - 1
_BINOPS = {"Add": operator.add, "Sub": operator.sub, "Mult": operator.mul,
           "FloorDiv": operator.floordiv, "Mod": operator.mod, "LShift": operator.lshift,
           "RShift": operator.rshift, "BitAnd": operator.and_, "BitOr": operator.or_,
           "BitXor": operator.xor}
_UNOPS = {"USub": operator.neg, "UAdd": operator.pos, "Invert": operator.invert}
_NUMBER = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|0[bB][01]+|[1-9]\d*|0)\s*$")


class TooLarge(ValueError):
    """A Wt literal that is neither an unsigned nor a signed 32-bit value (on line `index`)."""

    index = -1


def evaluate(expr: str, constants: dict[str, int]) -> int | None:
    """The value of an absolute expression of numbers and known constants, else None."""
    m = _NUMBER.match(expr)
    if m:                                      # the common case, without the ast module
        return int(m.group(1), 0)
    import ast
    text = re.sub(r"(?<![/])/(?![/])", "//", expr.strip())
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name) and node.id in constants:
            return constants[node.id]
        if isinstance(node, ast.BinOp) and type(node.op).__name__ in _BINOPS:
            a, b = ev(node.left), ev(node.right)
            return None if a is None or b is None else _BINOPS[type(node.op).__name__](a, b)
        if isinstance(node, ast.UnaryOp) and type(node.op).__name__ in _UNOPS:
            a = ev(node.operand)
            return None if a is None else _UNOPS[type(node.op).__name__](a)
        return None

    try:
        return ev(tree)
    except (ArithmeticError, ValueError):
        return None


def movz(value: int, xreg: bool) -> tuple[int, int] | None:
    """(imm16, shift) when one MOVZ loads `value` (LLVM's rule for `ldr Rt, =imm`), else None."""
    imm, shift = value & _MASK64, 0
    while imm > 0xFFFF and (imm & 0xFFFF) == 0:
        shift, imm = shift + 16, imm >> 16
    if shift <= (48 if xreg else 16) and imm <= 0xFFFF:
        return imm, shift
    if not xreg and not (-(1 << 31) <= value < (1 << 32)):
        raise TooLarge("immediate too large for a W register")
    return None


class Pool:
    """Pending literal-pool entries, deduplicated by (size, expression text)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[int, str], str] = {}
        self.count = 0

    def label(self, size: int, expr: str) -> str:
        key = (size, expr)
        if key not in self.entries:
            self.entries[key] = f".Lffaemu_lit_{self.count}"
            self.count += 1
        return self.entries[key]

    def flush(self) -> str:
        """The pool as one line of statements (empty when nothing is pending)."""
        if not self.entries:
            return ""
        parts = [".balign 8"]
        for (size, expr), name in sorted(self.entries.items(), key=lambda kv: -kv[0][0]):
            parts.append(f"{name}: {'.quad' if size == 8 else '.word'} {expr}")
        self.entries = {}
        return " ; ".join(parts)


def rewrite(texts: list[str]) -> tuple[list[str], str]:
    """(the lines with every `ldr Rt, =expr` rewritten, the final pool line or '')."""
    constants: dict[str, int] = {}
    pool, out = Pool(), []
    for i, text in enumerate(texts):
        m = _EQU.match(text)
        if m:
            name, expr = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            value = evaluate(expr, constants)
            if value is not None:
                constants[name] = value
            else:
                constants.pop(name, None)
        if _LTORG.match(text):
            out.append(pool.flush())
            continue
        m = _LDR_EQ.match(text)
        if not m:
            out.append(text)
            continue
        prefix, kind, reg, expr = m.groups()
        xreg = kind.lower() == "x"
        value = evaluate(expr, constants)
        try:
            fit = movz(value, xreg) if value is not None else None
        except TooLarge as e:
            e.index = i
            raise
        if fit:
            imm, shift = fit
            out.append(f"{prefix}movz {kind}{reg}, #{imm:#x}" + (f", lsl #{shift}" if shift else ""))
        else:
            out.append(f"{prefix}ldr {kind}{reg}, {pool.label(8 if xreg else 4, expr)}")
    return out, pool.flush()
