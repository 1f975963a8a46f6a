"""Disassembly for messages and traces (capstone), built lazily."""
from __future__ import annotations

_cs = None


def disassemble_one(word: bytes, addr: int) -> str:
    """`mnemonic operands` of one A64 instruction, or `.word 0x...` if it does not decode."""
    global _cs
    if _cs is None:
        from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs
        _cs = Cs(CS_ARCH_ARM64, CS_MODE_ARM)
    for insn in _cs.disasm(word, addr, 1):
        return f"{insn.mnemonic} {insn.op_str}".strip()
    return f".word {int.from_bytes(word, 'little'):#010x}"


_cs_detail = None


def decode(word: bytes, addr: int):
    """One A64 instruction with operand details (capstone), or None."""
    global _cs_detail
    if _cs_detail is None:
        from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs
        _cs_detail = Cs(CS_ARCH_ARM64, CS_MODE_ARM)
        _cs_detail.detail = True
    return next(_cs_detail.disasm(word, addr, 1), None)
