"""Machine code for the litmus instructions keystone 0.9.2 cannot assemble (LDAPR, LSE atomics).

Field layouts from the Arm ARM (DDI 0487), C6.2 "LDAPR", "CAS, CASA, CASAL, CASL", "LDADD, ...",
"STADD, ..." (alias of LDADD with Rt = ZR), "SWP, ..."; checked word for word against
aarch64-linux-gnu-as in tests/test_litmus.py. Anything else returns None (keystone's job).
"""
from __future__ import annotations

import re

from ..errors import FfaemuError

SIZE_SHIFT, RS_SHIFT, RN_SHIFT = 30, 16, 5
LSE_BASE, LSE_A_BIT, LSE_R_BIT, LSE_O3_BIT = 0x3820_0000, 23, 22, 15
LDAPR_BASE = 0x38BF_C000
CAS_BASE, CAS_L_BIT, CAS_O0_BIT = 0x08A0_7C00, 22, 15
ZR = 31
_SIZES = {"B": 0, "H": 1}

_RX = re.compile(r"(LDAPR|CAS|SWP|LDADD|STADD)(A?)(L?)(B|H)?$")


def _reg(text: str, where: str, insn: str) -> tuple[int, str]:
    t = text.strip().upper()
    if t in ("WZR", "XZR"):
        return ZR, t[0]
    if t in ("SP", "WSP"):
        return ZR, "X"
    m = re.fullmatch(r"([WX])(\d+)", t)
    if not m or int(m.group(2)) > 30:
        raise FfaemuError(f"{where}: bad register '{text.strip()}' in '{insn}'")
    return int(m.group(2)), m.group(1)


def encode_special(insn: str, where: str) -> int | None:
    """The instruction word of `insn` if it is LDAPR, CAS, SWP, LDADD or STADD (any A/L/B/H form)."""
    m = re.match(r"\s*([A-Za-z]+)\s+(.*)$", insn)
    if not m:
        return None
    op = _RX.fullmatch(m.group(1).upper())
    if not op:
        return None
    name, acq, rel, width = op.groups()
    ops = re.fullmatch(r"(.*)\[\s*([^\],]+)\s*(?:,\s*#?0+\s*)?\]\s*", m.group(2))
    if not ops:
        raise FfaemuError(f"{where}: unsupported addressing in '{insn.strip()}' (only [Xn])")
    regs = [r for r in ops.group(1).split(",") if r.strip()]
    rn, _ = _reg(ops.group(2), where, insn.strip())
    parsed = [_reg(r, where, insn.strip()) for r in regs]
    want = {"LDAPR": 1, "STADD": 1}.get(name, 2)
    if len(parsed) != want or (name in ("LDAPR", "STADD") and acq) or (name == "LDAPR" and rel):
        raise FfaemuError(f"{where}: unsupported instruction '{insn.strip()}'")
    size = _SIZES[width] if width else (3 if parsed[0][1] == "X" else 2)
    word = size << SIZE_SHIFT | rn << RN_SHIFT
    if name == "LDAPR":
        return word | LDAPR_BASE | parsed[0][0]
    if name == "STADD":
        parsed.append((ZR, parsed[0][1]))
    (rs, _), (rt, _) = parsed
    if name == "CAS":
        return word | CAS_BASE | bool(acq) << CAS_L_BIT | bool(rel) << CAS_O0_BIT | rs << RS_SHIFT | rt
    word |= LSE_BASE | bool(acq) << LSE_A_BIT | bool(rel) << LSE_R_BIT | rs << RS_SHIFT | rt
    return word | (1 << LSE_O3_BIT if name == "SWP" else 0)
