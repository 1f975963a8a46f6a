r"""Assemble `.S` sources with keystone or LLVM, with `.include`, labels and file:line errors.

Two back ends share one front end: keystone (LLVM MC of 2016, in process where its wheel
exists; bounded, see `toolchain.keystone`) and LLVM's integrated assembler and lld from the
`ziglang` package (`toolchain.llvm_as`; LSE, RCpc and `.inst`, which keystone lacks).
`assembler=None` means `$FFAEMU_ASSEMBLER`, else keystone when installed, else LLVM.
keystone reports neither the line of an error nor the symbol table, and rejects GNU as
idioms that hand-written stubs use. The front end adds:
- `.include "file"` (relative to the including file);
- GNU `.macro name arg, arg=default` ... `.endm` expansion with `\arg`, `\@` and `\()`;
- numeric local labels (`1:` with `1b`/`1f` references), renamed to unique symbols;
- `ldr Rt, =expr` as MOVZ or an explicit literal pool (`toolchain.litpool`), so both back
  ends give the same bytes;
- errors located by assembling growing prefixes of the source, reported as file:line;
- label addresses, read back from a second assembly with a trailer of `.quad label`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AsmError, FfaemuError
from .inputs import MAX_IMAGE_BYTES, read_text
from .toolchain import cache, ks_bounded as keystone, litpool, pcrel as pcrel_check, zig
from .toolchain.ks_bounded import KeystoneCrash, KeystoneTimeout, KsFailure

ASSEMBLERS = ("keystone", "llvm")
ASSEMBLER_ENV = "FFAEMU_ASSEMBLER"

_INCLUDE = re.compile(r'^\s*(?:\.include|#include)\s+"([^"]+)"\s*$')
_LABEL = re.compile(r'^\s*([A-Za-z_.$][\w.$]*)\s*:')
_BLOCK_OPEN = re.compile(r'^\s*\.(rept|irp|irpc)\b')
_BLOCK_CLOSE = re.compile(r'^\s*\.endr\b')
_MACRO = re.compile(r'^\s*\.macro\s+([A-Za-z_.$][\w.$]*)\s*,?\s*(.*?)\s*$')
_ENDM = re.compile(r'^\s*\.endm\b')
_NUM_LABEL_DEF = re.compile(r'^(\s*)(\d+):')
_NUM_LABEL_REF = re.compile(r'(?<![\w.$])(\d+)([fb])(?![\w.$])')
_MAX_EXPANSION_DEPTH = 32
_SYMBOL_MISSING = 144   # KS_ERR_ASM_SYMBOL_MISSING
_TRAILER_MAGIC = int.from_bytes(b"FFAESYMS", "little")


@dataclass
class Line:
    """One source line after `.include` expansion, with where it came from."""

    text: str
    file: str
    lineno: int
    original: str | None = None      # the text before a front-end rewrite (`ldr Rt, =expr`)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.lineno}"

    @property
    def shown(self) -> str:
        """The statement as the user wrote it (for messages)."""
        return (self.text if self.original is None else self.original).strip()


@dataclass
class Assembled:
    """Machine code placed at `base`, with the label addresses and a line table."""

    code: bytes
    base: int
    labels: dict[str, int] = field(default_factory=dict)
    lines: dict[int, str] = field(default_factory=dict)     # address -> "file:line"


def _expand(text: str, filename: str, seen: tuple[str, ...] = ()) -> list[Line]:
    lines: list[Line] = []
    for n, raw in enumerate(text.splitlines(), 1):
        m = _INCLUDE.match(raw)
        if not m:
            lines.append(Line(raw, filename, n))
            continue
        inc = Path(filename).parent / m.group(1)
        if str(inc) in seen:
            raise AsmError(f"{filename}:{n}: recursive .include of {m.group(1)}")
        try:
            inc_text = read_text(inc, error=_Unreadable)            # size-checked, UTF-8
        except _Unreadable as e:
            why = str(e).removeprefix(f"{inc}: ").removeprefix("cannot read: ")
            raise AsmError(f"{filename}:{n}: cannot include {m.group(1)}: {why}") from None
        lines.extend(_expand(inc_text, str(inc), seen + (str(inc),)))
    return lines


@dataclass
class _Macro:
    params: list[tuple[str, str | None]]
    body: list[Line]


def _split_args(text: str) -> list[str]:
    """Macro arguments: comma-separated, or blank-separated when there is no comma."""
    text = text.strip()
    if not text:
        return []
    parts, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    if len(parts) == 1 and '"' not in text:
        parts = text.split()
    return [p[1:-1] if len(p) >= 2 and p[0] == p[-1] == '"' else p for p in parts]


def _expand_macros(lines: list[Line]) -> list[Line]:
    """Expand GNU-style .macro definitions (keystone has no `\\@`, and local labels need it)."""
    macros: dict[str, _Macro] = {}
    counter = [0]

    def expand(src: list[Line], depth: int) -> list[Line]:
        out: list[Line] = []
        i = 0
        while i < len(src):
            ln = src[i]
            m = _MACRO.match(ln.text)
            if m:
                body, i = [], i + 1
                while i < len(src) and not _ENDM.match(src[i].text):
                    body.append(src[i])
                    i += 1
                if i == len(src):
                    raise AsmError(f"{ln.where}: .macro {m.group(1)} has no .endm")
                params = []
                for p in _split_args(m.group(2)):
                    name, _, default = p.partition("=")
                    params.append((name.strip(), default.strip() if _ else None))
                macros[m.group(1)] = _Macro(params, body)
                i += 1
                continue
            label, rest = _split_label(ln.text)
            head = rest.split(None, 1)
            if head and head[0] in macros:
                if depth >= _MAX_EXPANSION_DEPTH:
                    raise AsmError(f"{ln.where}: macro {head[0]} expands too deeply (recursion?)")
                if label:
                    out.append(Line(label + ":", ln.file, ln.lineno))
                out.extend(expand(_invoke(macros[head[0]], head[0], head[1:], ln, counter), depth + 1))
            else:
                out.append(ln)
            i += 1
        return out

    return expand(lines, 0)


def _strip_comments(lines: list[Line]) -> list[Line]:
    """Remove `//` and `/* */` comments outside strings, keeping one Line per source line.

    keystone mis-parses some commented lines (`nop // mov r0, r0` fails with "Unknown
    token in expression"), so it never sees a comment.
    """
    out, in_block = [], False
    for ln in lines:
        text, keep, i, quoted = ln.text, [], 0, False
        while i < len(text):
            if in_block:
                end = text.find("*/", i)
                if end < 0:
                    i = len(text)
                    break
                in_block, i = False, end + 2
                continue
            ch = text[i]
            if ch == '"' and (i == 0 or text[i - 1] != "\\"):
                quoted = not quoted
            elif not quoted and text.startswith("//", i):
                break
            elif not quoted and text.startswith("/*", i):
                in_block, i = True, i + 2
                continue
            keep.append(ch)
            i += 1
        out.append(Line("".join(keep).rstrip(), ln.file, ln.lineno))
    return out


_ANY_LABEL = re.compile(r'^\s*(\d+|[A-Za-z_.$][\w.$]*)\s*:')


def _split_label(text: str) -> tuple[str, str]:
    """('label', rest) for a line that starts with a named or numeric label."""
    m = _ANY_LABEL.match(text)
    if m and not text[m.end():].startswith(":"):
        return m.group(1), text[m.end():]
    return "", text


def _invoke(macro: _Macro, name: str, rest: list[str], at: Line, counter: list[int]) -> list[Line]:
    args = _split_args(rest[0] if rest else "")
    if len(args) > len(macro.params):
        raise AsmError(f"{at.where}: macro {name} takes {len(macro.params)} arguments, got {len(args)}")
    values = {}
    for n, (pname, default) in enumerate(macro.params):
        if n < len(args) and args[n] != "":
            values[pname] = args[n]
        elif default is not None:
            values[pname] = default
        else:
            raise AsmError(f"{at.where}: macro {name} needs a value for '{pname}'")
    counter[0] += 1
    unique = str(counter[0])
    names = sorted(values, key=len, reverse=True)

    def subst(text: str) -> str:
        text = text.replace("\\@", unique)
        for pname in names:
            text = text.replace("\\" + pname, values[pname])
        return text.replace("\\()", "")

    # Errors inside an expansion point at the invocation line.
    return [Line(subst(b.text), at.file, at.lineno) for b in macro.body]


def _rename_local_labels(lines: list[Line]) -> list[Line]:
    """Give numeric local labels (`1:`, `1b`, `1f`) unique names keystone accepts."""
    defs: dict[str, list[int]] = {}
    for i, ln in enumerate(lines):
        m = _NUM_LABEL_DEF.match(ln.text)
        if m:
            defs.setdefault(m.group(2), []).append(i)

    def name(num: str, idx: int) -> str:
        return f".Lffaemu_local_{num}_{idx}"

    out = []
    for i, ln in enumerate(lines):
        text = ln.text
        m = _NUM_LABEL_DEF.match(text)
        if m:
            text = f"{m.group(1)}{name(m.group(2), i)}:" + text[m.end():]
        code = text

        def ref(mr, i=i, ln=ln):
            num, way = mr.group(1), mr.group(2)
            targets = defs.get(num, [])
            pick = [t for t in targets if t <= i] if way == "b" else [t for t in targets if t > i]
            if not pick:
                raise AsmError(f"{ln.where}: local label {num}{way} has no "
                               f"{'preceding' if way == 'b' else 'following'} '{num}:'")
            return name(num, pick[-1] if way == "b" else pick[0])

        prefix = f"{m.group(1)}{name(m.group(2), i)}:" if m else ""
        pieces = code[len(prefix):].split('"')       # leave string literals alone
        pieces[::2] = [_NUM_LABEL_REF.sub(ref, p) for p in pieces[::2]]
        code = prefix + '"'.join(pieces)
        out.append(Line(code, ln.file, ln.lineno))
    return out


def _try(src: str, base: int) -> tuple[bytes | None, KsFailure | None]:
    """Assemble with keystone; return (code, error).

    keystone's sym_resolver callback is never installed: once one has been set in a
    process, later engines fail unrelated instructions (`stp ..., [sp, #-16]!` gives
    "Unknown error"), so missing symbols are found by `_find_missing_symbol` instead.
    """
    return keystone.asm(src, base)


_IDENT = re.compile(r"(?<![\w.$#])([A-Za-z_.$][\w.$]*)")
_DEFINED = re.compile(r"^\s*(?:\.equ|\.set|\.equiv)\s+([A-Za-z_.$][\w.$]*)\s*,|^\s*([A-Za-z_.$][\w.$]*)\s*=")
_NOT_SYMBOLS = re.compile(
    r"^(?:[xwvqdshb]\d+|sp|wsp|xzr|wzr|lr|fp|pc|eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al|nv"
    r"|lsl|lsr|asr|ror|[us]xt[bhwx]|msl|.*_el[0-3]\w*|s\d_\d_c\d+_c\d+_\d|nzcv|daif\w*|spsel|currentel"
    r"|[a-z]*sh(?:ld|st)?|sy|ld|st|[a-z]*ld[a-z]*keep|[a-z]*strm|[a-z]+e\d[a-z]*)$", re.I)


def _find_missing_symbol(lines: list[Line], src: str, base: int) -> tuple[str, Line] | None:
    """The undefined symbol keystone complained about, and the line that first uses it."""
    defined = {m.group(1) for ln in lines if (m := _LABEL.match(ln.text))}
    defined |= {m.group(1) or m.group(2) for ln in lines if (m := _DEFINED.match(ln.text))}
    candidates: dict[str, Line] = {}
    for ln in lines:
        body = _split_label(ln.text)[1].strip()
        if not body:
            continue
        operands = body.split(None, 1)[1] if " " in body or "\t" in body else ""
        operands = re.sub(r'"[^"]*"', "", operands)
        for name in _IDENT.findall(operands):
            if name not in defined and not _NOT_SYMBOLS.match(name):
                candidates.setdefault(name, ln)
    prefix = []
    for name, ln in candidates.items():
        prefix.append(f".set {name}, {base:#x}")
        _, err = _try("\n".join(prefix) + "\n" + src, base)
        if err is None or err.errno != _SYMBOL_MISSING:
            return name, ln
    return None


def _cut_points(lines: list[Line]) -> list[int]:
    """Prefix lengths that do not end inside a .macro/.rept block."""
    depth, points = 0, []
    for i, ln in enumerate(lines):
        if _BLOCK_OPEN.match(ln.text):
            depth += 1
        elif _BLOCK_CLOSE.match(ln.text):
            depth = max(0, depth - 1)
        if depth == 0:
            points.append(i + 1)
    return points


def _locate(lines: list[Line], base: int) -> int:
    """Index of the first line whose inclusion makes keystone fail (binary search)."""
    points = _cut_points(lines)
    lo, hi = 0, len(points) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        try:
            _, err = _try("\n".join(l.text for l in lines[:points[mid]]), base)
        except (KeystoneTimeout, KeystoneCrash) as e:
            err = KsFailure(-1, str(e))
        if err is None or err.errno == _SYMBOL_MISSING:     # forward references are fine here
            lo = mid + 1
        else:
            hi = mid
    end = points[lo] if points else len(lines)
    start = points[lo - 1] if lo else 0
    # The failing prefix ends at `end`; report its last non-blank line.
    for i in range(end - 1, start - 1, -1):
        if lines[i].text.strip():
            return i
    return end - 1


def _message(err: KsFailure) -> str:
    text = err.msg
    return re.sub(r"\s*\(KS_ERR_\w+\)", "", text) if "Unknown error" not in text else \
        "keystone cannot encode this (unsupported operand or immediate)"


def choose(assembler: str | None = None) -> str:
    """The assembler to use: `assembler`, else `$FFAEMU_ASSEMBLER`, else keystone if installed."""
    name = assembler or os.environ.get(ASSEMBLER_ENV) or ""
    if not name:
        return "keystone" if keystone.available() else "llvm"
    if name not in ASSEMBLERS:
        raise FfaemuError(f"unknown assembler '{name}' (choices: {', '.join(ASSEMBLERS)})")
    if name == "keystone" and not keystone.available():
        raise FfaemuError("keystone-engine is not installed (it has no wheel for this platform): "
                          "use the LLVM assembler (--assembler llvm)")
    if name == "llvm" and not zig.available():
        raise FfaemuError(zig.MISSING)
    return name


def _front_end(text: str, filename: str) -> list[Line]:
    lines = _rename_local_labels(_expand_macros(_check_sizes(_strip_comments(_expand(text, filename)))))
    try:
        texts, pool = litpool.rewrite([ln.text for ln in lines])
    except litpool.TooLarge as e:
        raise AsmError(f"{lines[e.index].where}: {e}: {lines[e.index].shown}") from None
    out = [Line(t, ln.file, ln.lineno, None if t == ln.text else ln.text) for t, ln in zip(texts, lines)]
    if pool:
        last = lines[-1]
        out.append(Line(pool, last.file, last.lineno))
    return out


def assemble(text: str, base: int, filename: str = "<asm>", assembler: str | None = None) -> Assembled:
    """Assemble `text` at `base`; raise AsmError naming file:line on any failure.

    `assembler`: "keystone", "llvm" or None (see `choose`). With None, what keystone cannot
    encode (LSE, LDAPR, `.inst`, input that hangs its parser) goes to LLVM when installed.
    """
    requested = assembler or os.environ.get(ASSEMBLER_ENV) or "auto"
    lines = _front_end(text, filename)
    # "auto" is keyed apart from "keystone"/"llvm": they give the same bytes where both
    # succeed, but only a hit for the name asked for avoids probing which are installed.
    k = cache.key(requested, f"{base:#x}", "\n".join(f"{ln.where}\t{ln.text}" for ln in lines))
    hit = cache.get("asm", k)
    if hit is not None:
        return Assembled(bytes.fromhex(hit["code"]), base, hit["labels"],
                         {int(a): w for a, w in hit["lines"].items()})
    which = choose(assembler)
    if which == "llvm":
        result = _assemble_llvm(lines, base, filename)
    else:
        try:
            result = _assemble_keystone(lines, base, filename)
        except AsmError:
            if assembler or os.environ.get(ASSEMBLER_ENV) or not zig.available():
                raise
            result = _assemble_llvm(lines, base, filename)
    cache.put("asm", k, {"code": result.code.hex(), "labels": result.labels,
                         "lines": {str(a): w for a, w in result.lines.items()}})
    return result


_INST = re.compile(r"^\s*\.inst(?:\.[nw])?\b", re.I)
_SIZED = re.compile(r"^\s*\.(skip|space|zero|fill)\s+(0[xX][0-9a-fA-F]+|\d+)")
_REPT = re.compile(r"^\s*\.rept\s+(0[xX][0-9a-fA-F]+|\d+)")
MAX_REPT = 1_000_000
_DOUBLE_COLON = re.compile(r"^\s*[A-Za-z_.$][\w.$]*\s*::")


def _check_sizes(lines: list[Line]) -> list[Line]:
    """Refuse literal sizes no image can have before an assembler allocates them:
    `.skip`/`.space`/`.zero`/`.fill` beyond MAX_IMAGE_BYTES, `.rept` beyond MAX_REPT."""
    for ln in lines:
        text = _split_label(ln.text)[1]
        m = _SIZED.match(text)
        if m and int(m.group(2), 0) > MAX_IMAGE_BYTES:
            raise AsmError(f"{ln.where}: .{m.group(1)} of {m.group(2)} bytes is larger than any "
                           f"image ({MAX_IMAGE_BYTES >> 20} MiB): {ln.shown}")
        m = _REPT.match(text)
        if m and int(m.group(1), 0) > MAX_REPT:
            raise AsmError(f"{ln.where}: .rept {m.group(1)} is more than {MAX_REPT:,} repetitions: {ln.shown}")
    return lines


def _keystone_limits(lines: list[Line]) -> None:
    """What keystone 0.9.2 cannot take, named by file:line before it is asked: its
    parser never returns on `label::` or an unterminated string, and its binding takes
    ASCII only (comments, already stripped, may hold any text)."""
    for ln in lines:
        text = ln.text
        bad = next((ch for ch in text if not (" " <= ch <= "~" or ch == "\t")), None)
        if bad is not None:
            raise AsmError(f"{ln.where}: non-ASCII character {bad!r} outside a comment: {ln.shown}")
        if _DOUBLE_COLON.match(text):
            raise AsmError(f"{ln.where}: `label::` is not a label (write `label:`): {ln.shown}")
        if _unterminated(text):
            raise AsmError(f"{ln.where}: unterminated string: {ln.shown}")


def _unterminated(text: str) -> bool:
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
    return quoted


# Directives keystone mishandles, meaningless in one flat image: `.text` aborts keystone 0.9.2,
# and a `.global` symbol reads as 0 through `.quad` (a relocation nobody resolves).
_KS_DROPPED = re.compile(r"^\s*\.(text|globl|global|weak|hidden)\b")


def _assemble_keystone(lines: list[Line], base: int, filename: str) -> Assembled:
    _keystone_limits(lines)
    for ln in lines:
        if _INST.match(_split_label(ln.text)[1]):
            raise AsmError(f"{ln.where}: keystone drops .inst silently; use the LLVM assembler "
                           f"(--assembler llvm or {ASSEMBLER_ENV}=llvm)")
    lines = [Line("", ln.file, ln.lineno) if _KS_DROPPED.match(ln.text) else ln for ln in lines]
    src = "\n".join(ln.text for ln in lines)
    try:
        code, err = _try(src, base)
    except (KeystoneTimeout, KeystoneCrash) as e:
        raise AsmError(f"{filename}: {e}; the LLVM assembler (--assembler llvm) "
                       f"names the line") from None
    if err is not None:
        missing = _find_missing_symbol(lines, src, base) if err.errno == _SYMBOL_MISSING else None
        if missing:
            raise AsmError(f"{missing[1].where}: undefined symbol '{missing[0]}'")
        ln = lines[_locate(lines, base)]
        raise AsmError(f"{ln.where}: {_message(err)}: {ln.shown} (keystone 0.9.2 "
                       f"knows Armv8.0 only; LSE, RCpc and later: --assembler llvm)")
    if not code:
        raise AsmError(f"{filename}: no code or data was assembled")
    labels, table, targets = _labels(lines, base)
    _check_pcrel(lines, code, base, targets)
    return Assembled(code, base, labels, table)


def _label_names(lines: list[Line]) -> list[str]:
    names = [m.group(1) for ln in lines if (m := _LABEL.match(ln.text)) and "\\" not in ln.text
             and not m.group(1).startswith(".L")]      # .L names are assembler-local (GNU as)
    return list(dict.fromkeys(names))


def _statement_marks(lines: list[Line]) -> list[int]:
    """Indices of statement lines outside .rept/.irp blocks (where a label would repeat)."""
    marks, depth = [], 0
    for i, ln in enumerate(lines):
        if _BLOCK_OPEN.match(ln.text):
            depth += 1
        elif _BLOCK_CLOSE.match(ln.text):
            depth = max(0, depth - 1)
        body = _split_label(ln.text)[1].strip()
        if depth == 0 and body and not body.startswith("."):
            marks.append(i)
    return marks


def _assemble_llvm(lines: list[Line], base: int, filename: str) -> Assembled:
    """clang + lld; a hidden label on each statement line gives the line table."""
    from .toolchain import llvm_as
    marks = set(_statement_marks(lines))
    src = "\n".join(f"__ffaemu_line_{i}: {ln.text}" if i in marks else ln.text
                    for i, ln in enumerate(lines))
    try:
        code, symbols = llvm_as.assemble(src, base)
    except llvm_as.Diagnostic as d:
        ln = lines[min(max(d.lineno, 1), len(lines)) - 1]
        raise AsmError(f"{ln.where}: {d.message}: {ln.shown}") from None
    except llvm_as.Undefined as u:
        ln = lines[min(max(u.lineno, 1), len(lines)) - 1]
        raise AsmError(f"{ln.where}: undefined symbol '{u.name}'") from None
    if not code:
        raise AsmError(f"{filename}: no code or data was assembled")
    labels = {n: symbols[n] for n in _label_names(lines) if n in symbols}
    table = {symbols[f"__ffaemu_line_{i}"]: lines[i].where for i in sorted(marks)
             if f"__ffaemu_line_{i}" in symbols}
    return Assembled(code, base, labels, table)


def _labels(lines: list[Line], base: int) -> tuple[dict[str, int], dict[int, str], list[tuple[int, str, int]]]:
    """Label addresses, an address -> file:line table and PC-relative targets, from one extra assembly.

    A hidden label goes before every statement line (outside .rept/.irp blocks, where
    it would repeat) and a trailer of `.quad` words after the magic marker reads all
    addresses back; labels do not change the code, so the addresses are the image's.
    The trailer also evaluates the target of each PC-relative statement: (line, form, target).
    """
    names = _label_names(lines)
    marks, text = _statement_marks(lines), []
    marked = set(marks)
    for i, ln in enumerate(lines):
        if i in marked:
            text.append(f"__ffaemu_line_{i}:")
        text.append(ln.text)
    pcrel = [(i, *t) for i in marks
             if (t := pcrel_check.target_expr(_split_label(lines[i].text)[1], f"__ffaemu_line_{i}"))]
    trailer = [f"__ffaemu_line_{i}" for i in marks] + names + [expr for _, _, expr in pcrel]
    words = _trailer_words("\n".join(text), trailer, base)
    if words is None:                                    # fall back: labels without lines
        words = _trailer_words("\n".join(ln.text for ln in lines), names, base) or []
        return dict(zip(names, words)), {}, []
    table = {addr: lines[i].where for i, addr in zip(marks, words)}
    line_addr = dict(zip(marks, words))
    targets = [(i, form, line_addr[i], value)
               for (i, form, _), value in zip(pcrel, words[len(marks) + len(names):])]
    return dict(zip(names, words[len(marks):len(marks) + len(names)])), table, targets


def _check_pcrel(lines: list[Line], code: bytes, base: int, targets) -> None:
    """Refuse what keystone encoded with a wrapped PC-relative offset (see `toolchain.pcrel`)."""
    for i, form, pc, target in targets:
        off = pc - base
        if not 0 <= off <= len(code) - 4:
            continue
        why = pcrel_check.check(form, int.from_bytes(code[off:off + 4], "little"), pc, target)
        if why:
            raise AsmError(f"{lines[i].where}: {why}: {lines[i].shown}")


def _trailer_words(src: str, symbols: list[str], base: int) -> list[int] | None:
    if not symbols:
        return []
    trailer = f"\n.balign 8\n.quad {_TRAILER_MAGIC:#x}\n" + "\n".join(f".quad {n}" for n in symbols)
    code, err = _try(src + trailer, base)
    magic = _TRAILER_MAGIC.to_bytes(8, "little")
    start = code.find(magic) if code else -1
    while start % 8 and start >= 0:
        start = code.find(magic, start + 1)
    if err is not None or start < 0:
        return None
    start += 8
    return [int.from_bytes(code[start + 8 * i:start + 8 * i + 8], "little") for i in range(len(symbols))]


def assemble_file(path: str | Path, base: int, assembler: str | None = None) -> Assembled:
    """Assemble a `.S` file; unreadable, oversized or non-UTF-8 files raise AsmError."""
    return assemble(read_text(path, error=AsmError), base, str(path), assembler)


class _Unreadable(FfaemuError):
    """An .include that cannot be read (reported as the including line's error)."""
