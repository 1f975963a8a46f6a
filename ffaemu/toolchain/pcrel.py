"""Check keystone's PC-relative encodings against the targets the source names.

keystone 0.9.2 does not range-check PC-relative fixups: a literal load, ADR, B.cond or
CBZ whose target is 1 MiB or more away is silently encoded with the offset wrapped (a far
literal pool load became a load from 1 MiB *before* the instruction), and TBZ beyond 32 KiB
aborts the process. LLVM reports "fixup value out of range". Each such statement's target
is evaluated by the assembler (a `.quad target` trailer) and compared with the target its
encoding decodes to (Arm ARM C4.1, "A64 instruction set encoding": branches, exception
generation and system instructions; loads and stores; data processing - immediate).
"""
from __future__ import annotations

import re

# (mask, value, immediate position, width, scale, range in bytes) per encoding class.
_FORMS = {
    "b":    (0x7C00_0000, 0x1400_0000, 0, 26, 4, 1 << 27),   # B, BL: imm26
    "bcc":  (0xFF00_0010, 0x5400_0000, 5, 19, 4, 1 << 20),   # B.cond: imm19
    "cbz":  (0x7E00_0000, 0x3400_0000, 5, 19, 4, 1 << 20),   # CBZ, CBNZ: imm19
    "tbz":  (0x7E00_0000, 0x3600_0000, 5, 14, 4, 1 << 15),   # TBZ, TBNZ: imm14
    "lit":  (0x3B00_0000, 0x1800_0000, 5, 19, 4, 1 << 20),   # LDR (literal), LDRSW, PRFM: imm19
}
_MNEMONIC_FORM = {"b": "b", "bl": "b", "cbz": "cbz", "cbnz": "cbz", "tbz": "tbz", "tbnz": "tbz",
                  "ldr": "lit", "ldrsw": "lit", "prfm": "lit", "adr": "adr"}
_STATEMENT = re.compile(r"^\s*([a-z]+)(?:\.([a-z]{2}))?\s+(.*)$", re.I)
_DOT = re.compile(r"(?<![\w.$])\.(?![\w.$])")


def _sext(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


def target_expr(statement: str, here: str) -> tuple[str, str] | None:
    """(form, target expression) of a PC-relative statement with a symbolic target, else None.

    `here` names the statement's own address, which replaces `.` in the expression.
    """
    m = _STATEMENT.match(statement)
    if not m:
        return None
    mnemonic, cond, operands = m.group(1).lower(), m.group(2), m.group(3)
    form = "bcc" if mnemonic == "b" and cond else _MNEMONIC_FORM.get(mnemonic)
    if form is None or (cond and form != "bcc"):
        return None
    target = operands.rsplit(",", 1)[-1].strip() if form != "b" else operands.strip()
    if not target or target[0] in "[=#" or form == "lit" and "[" in operands:
        return None
    if re.fullmatch(r"[xw]\d+|[xw]zr|sp", target, re.I):        # BR-like register operands
        return None
    return form, _DOT.sub(here, target)


def decoded_target(form: str, word: int, pc: int) -> int | None:
    """The target address the encoding `word` at `pc` refers to, or None if not that form."""
    if form == "adr":
        if word & 0x9F00_0000 != 0x1000_0000:
            return None
        imm = ((word >> 5) & 0x7FFFF) << 2 | (word >> 29) & 3
        return pc + _sext(imm, 21)
    mask, value, pos, width, scale, _ = _FORMS[form]
    if word & mask != value:
        return None
    return pc + _sext((word >> pos) & ((1 << width) - 1), width) * scale


def check(form: str, word: int, pc: int, target: int) -> str | None:
    """None when `word` at `pc` reaches `target`; else why not."""
    got = decoded_target(form, word, pc)
    if got is None or got == target & ((1 << 64) - 1):
        return None
    reach = (1 << 20) if form == "adr" else _FORMS[form][5]
    return (f"target {target:#x} is {target - pc:+#x} bytes away, beyond this instruction's "
            f"reach of +/-{reach:#x} (keystone wraps the offset to {got:#x}); "
            f"move the target closer (.ltorg for literals)")
