"""What the memory model needs to know about one A64 instruction, decoded once per address.

Classes come from the instruction word (Arm ARM C4.1, "A64 instruction set encoding"; the
masks are the ones listed in MEMORY-MODEL.md, "Encodings"), registers read and written from
capstone, with its compare aliases special-cased (capstone 5 reports `cmp w0, #1` as writing
w0 and reading nothing).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import FfaemuError

FLAGS = 32                     # NZCV's slot in the register-view table (x0-x30 are 0-30)
NREGS = 33

# Barriers (Arm ARM C6.2 DMB/DSB/ISB): CRm (bits 11:8) low two bits name the access types.
BARRIER_MASK = 0xFFFFF0FF
DMB, DSB, ISB = 0xD50330BF, 0xD503309F, 0xD50330DF
CRM_LD, CRM_ST, CRM_ALL = 0b01, 0b10, 0b11

# Load/store exclusive and ordered (C4.1.66): o2 bit 23, L bit 22, o1 bit 21, o0 bit 15.
EXCL_ORDERED_MASK, EXCL_ORDERED = 0x3F000000, 0x08000000
BIT_O2, BIT_L, BIT_O1, BIT_O0 = 23, 22, 21, 15
LDAPR_MASK, LDAPR = 0x3FFFFC00, 0x38BFC000           # LDAPR{B,H} (FEAT_LRCPC)
RCPC_UNSCALED_MASK, RCPC_UNSCALED = 0x3F200C00, 0x19000000   # LDAPUR/STLUR (FEAT_LRCPC2)
LSE_MASK, LSE = 0x3F200C00, 0x38200000              # LD<op>/ST<op>/SWP (FEAT_LSE)
LSE_BIT_A, LSE_BIT_R = 23, 22
LSE_OPC_SHIFT, LSE_OPC_MASK, LSE_O3_BIT = 12, 0x7, 15  # opc (14:12), o3 (15): SWP is o3=1, opc=000
LSE_OPC_ADD = 0b000
LDAPR_OPC_FIELD = 0b100       # LDAPR sits in the LSE space: o3=1, opc=100

# Kinds.
LOCAL, LOAD, STORE, FENCE, ATOMIC = "local", "load", "store", "fence", "atomic"
# Acquire strength of a load.
ACQ_NONE, ACQ_PC, ACQ_SC = 0, 1, 2
# Fences.
F_FULL, F_LD, F_ST, F_ISB = "full", "ld", "st", "isb"

_CONDITIONAL = ("cbz", "cbnz", "tbz", "tbnz")
_COMPARE_ALIASES = ("cmp", "cmn", "tst")
_JUMPS = ("b", "bl", "br", "blr", "ret")             # branches: only the PC (and x30) change
_FLOW = _JUMPS + ("eret", "svc", "hvc", "smc", "brk", "hlt", "wfi", "wfe")


def bit(word: int, n: int) -> int:
    return (word >> n) & 1


@dataclass(frozen=True)
class Insn:
    """One decoded instruction, as the model sees it."""
    pc: int
    text: str
    kind: str
    reads: tuple[int, ...] = ()        # register slots read (views joined into results)
    writes: tuple[int, ...] = ()       # register slots written
    addr: tuple[int, ...] = ()         # address registers of a memory access
    acquire: int = ACQ_NONE
    release: bool = False
    exclusive: bool = False
    fence: str | None = None
    branch: bool = False               # a conditional branch: vcap joins the condition's view
    status: int | None = None          # STXR's status register
    atomic_op: str | None = None       # "cas", "swp", "ldadd"
    compare: int | None = None         # CAS's compare register
    xstore: tuple | None = None        # STXR: (data slot or None for ZR, base slot, size in bytes)
    flow: bool = False                 # may leave the next PC other than pc + 4
    jump: bool = False                 # a branch (conditional or not): no exception, no wait
    # Derived once (read on every step of the model's hot loop), from the fields above:
    # writes buffered before this instruction must drain first (MEMORY-MODEL.md);
    needs_empty_buffer: bool = field(init=False, repr=False, compare=False)
    # a write that goes to memory at once (release, exclusive, atomic), not to the buffer.
    direct_write: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        derived = object.__setattr__
        derived(self, "needs_empty_buffer", (self.kind == FENCE and self.fence in (F_FULL, F_ST))
                or self.release or (self.kind == STORE and self.exclusive) or self.kind == ATOMIC)
        derived(self, "direct_write",
                self.kind == ATOMIC or (self.kind == STORE and (self.release or self.exclusive)))


def _slot(name: str) -> int | None:
    if name == "nzcv":
        return FLAGS
    if name[0] in "wx" and name[1:].isdigit():
        return int(name[1:])
    return None                         # xzr/wzr, sp: no dependency


def _slots(names) -> tuple[int, ...]:
    return tuple(sorted({s for s in map(_slot, names) if s is not None}))


_cs = None


def _capstone():
    global _cs
    if _cs is None:
        from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs
        _cs = Cs(CS_ARCH_ARM64, CS_MODE_ARM)
        _cs.detail = True
    return _cs


def decode(word: int, pc: int) -> Insn:
    """Decode one instruction word at `pc`; an instruction the model cannot order is an error."""
    raw = word.to_bytes(4, "little")
    cs = next(_capstone().disasm(raw, pc, 1), None)
    if cs is None:
        raise FfaemuError(f"unsupported instruction {word:#010x} at {pc:#x} (does not decode)")
    text = f"{cs.mnemonic} {cs.op_str}".strip()
    rd, wr = cs.regs_access()
    reads, writes = [cs.reg_name(r) for r in rd], [cs.reg_name(r) for r in wr]
    if cs.mnemonic in _COMPARE_ALIASES:
        reads, writes = [cs.reg_name(o.reg) for o in cs.operands if o.type == 1], ["nzcv"]
    mem = [o for o in cs.operands if o.type == 3]
    addr = _slots([cs.reg_name(m.mem.base) for m in mem if m.mem.base]
                  + [cs.reg_name(m.mem.index) for m in mem if m.mem.index])
    base = dict(pc=pc, text=text, reads=_slots(reads), writes=_slots(writes), addr=addr)

    if (word & BARRIER_MASK) in (DMB, DSB):
        crm = (word >> 8) & 0xF
        kind = F_FULL if (word & BARRIER_MASK) == DSB else \
            {CRM_LD: F_LD, CRM_ST: F_ST, CRM_ALL: F_FULL}.get(crm & 3)
        if kind is None:
            raise FfaemuError(f"unsupported barrier '{text}' at {pc:#x}")
        return Insn(**base, kind=FENCE, fence=kind)
    if (word & BARRIER_MASK) == ISB:
        return Insn(**base, kind=FENCE, fence=F_ISB)
    if (word & LSE_MASK) == LSE:
        opc, o3 = (word >> LSE_OPC_SHIFT) & LSE_OPC_MASK, bit(word, LSE_O3_BIT)
        if opc == LDAPR_OPC_FIELD and o3 and (word & LDAPR_MASK) == LDAPR:
            return Insn(**base, kind=LOAD, acquire=ACQ_PC)
        op = "swp" if (o3, opc) == (1, 0) else "ldadd" if (o3, opc) == (0, LSE_OPC_ADD) else None
        if op is None:
            raise FfaemuError(f"unsupported instruction '{text}' at {pc:#x} (only the LSE atomics "
                              "LDADD/STADD, SWP and CAS are modelled)")
        return Insn(**base, kind=ATOMIC, atomic_op=op, acquire=ACQ_SC if bit(word, LSE_BIT_A) else ACQ_NONE,
                    release=bool(bit(word, LSE_BIT_R)))
    if (word & EXCL_ORDERED_MASK) == EXCL_ORDERED:
        o2, load, o1, o0 = bit(word, BIT_O2), bit(word, BIT_L), bit(word, BIT_O1), bit(word, BIT_O0)
        if o2 and o1:                                     # CAS{A}{L}: L = acquire, o0 = release
            return Insn(**base, kind=ATOMIC, atomic_op="cas", acquire=ACQ_SC if load else ACQ_NONE,
                        release=bool(o0), compare=_slot(cs.reg_name(cs.operands[0].reg)))
        if o2 and not o0:
            raise FfaemuError(f"unsupported instruction '{text}' at {pc:#x} (LORegion accesses)")
        if o2:                                            # LDAR / STLR
            return Insn(**base, kind=LOAD if load else STORE, acquire=ACQ_SC if load else ACQ_NONE,
                        release=not load)
        if o1:
            raise FfaemuError(f"unsupported instruction '{text}' at {pc:#x} (exclusive pairs)")
        if load:                                          # LDXR / LDAXR
            return Insn(**base, kind=LOAD, exclusive=True, acquire=ACQ_SC if o0 else ACQ_NONE)
        status = _slot(cs.reg_name(cs.operands[0].reg))   # STXR / STLXR
        data = cs.reg_name(cs.operands[1].reg)
        xstore = (_slot(data), _slot(cs.reg_name(mem[0].mem.base)), 1 << (word >> 30))
        return Insn(**base, kind=STORE, exclusive=True, release=bool(o0), status=status, xstore=xstore)
    if (word & RCPC_UNSCALED_MASK) == RCPC_UNSCALED:
        opc = (word >> 22) & 3
        if opc == 0:
            return Insn(**base, kind=STORE, release=True)
        return Insn(**base, kind=LOAD, acquire=ACQ_PC)
    if mem:
        if cs.mnemonic.startswith("ld"):
            return Insn(**base, kind=LOAD)
        if cs.mnemonic.startswith("st"):
            return Insn(**base, kind=STORE)
        raise FfaemuError(f"unsupported instruction '{text}' at {pc:#x} (memory access the model "
                          "does not order)")
    branch = cs.mnemonic in _CONDITIONAL or cs.mnemonic.startswith("b.")
    flow = branch or cs.mnemonic in _FLOW
    return Insn(**base, kind=LOCAL, branch=branch, flow=flow, jump=branch or cs.mnemonic in _JUMPS)

