"""The AArch64 exception model that Unicorn leaves to us: routing, syndrome, entry.

Unicorn (QEMU's TCG) decides *whether* an instruction raises and hands us only a
QEMU exception number (`UcIntr`); the ESR, ELR, SPSR, SP banking, PSTATE and the
vector are built here, following the Arm ARM:

- routing of SVC/HVC/SMC/BRK/UNDEFINED: D1.10 (exception entry), D1.3 and the
  SMC/HVC descriptions in C6.2 (SCR_EL3.HCE/SMD, HCR_EL2.TSC/TGE);
- the syndrome ESR_ELx = EC:IL:ISS: D17.2.37 (ESR_ELx), ISS = imm16 for
  SVC/HVC/SMC/BRK, 0 for an unknown reason;
- the preferred return address: D1.10.2 (SVC/HVC/untrapped SMC: next instruction;
  trapped SMC, UNDEFINED, BRK, illegal state: the instruction itself);
- the vector offset: D1.10.2, table "Vector offsets from vector table base address".
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from .bits import Field
from .sysregs import (DAIF_ALL, HCR, PSTATE, PSTATE_DAIF, PSTATE_NZCV, SCR, mode_bits,
                      mode_name, pstate_el, pstate_uses_spx)


class EC(enum.IntEnum):
    """Exception classes, ESR_ELx.EC (Arm ARM D17.2.37)."""

    UNKNOWN = 0x00
    WFX = 0x01
    FP_ACCESS = 0x07
    ILLEGAL_STATE = 0x0E
    SVC64 = 0x15
    HVC64 = 0x16
    SMC64 = 0x17
    SYSREG = 0x18
    INSN_ABORT_LOWER = 0x20
    INSN_ABORT = 0x21
    PC_ALIGN = 0x22
    DATA_ABORT_LOWER = 0x24
    DATA_ABORT = 0x25
    SP_ALIGN = 0x26
    BRK64 = 0x3C


ESR_EC = Field(31, 26)
ESR_IL = Field(25, 25)
ESR_ISS = Field(24, 0)
ESR_ISS_IMM16 = Field(15, 0)
INSN_IMM16 = Field(20, 5)        # imm16 of SVC/HVC/SMC/BRK/HLT (C6.2)
INSN_BYTES = 4                   # every A64 instruction


def esr_value(ec: EC, iss: int = 0, il: int = 1) -> int:
    """Compose ESR_ELx; IL is 1 for every trapped A64 instruction (D17.2.37)."""
    return ESR_EC.prep(ec) | ESR_IL.prep(il) | ESR_ISS.prep(iss)


def describe_esr(esr: int) -> str:
    """'SMC64 imm16=0x1234 IL=1' style rendering of a syndrome."""
    ec = ESR_EC.get(esr)
    name = EC(ec).name if ec in EC._value2member_map_ else f"EC_{ec:#04x}"
    iss = ESR_ISS.get(esr)
    if ec in (EC.SVC64, EC.HVC64, EC.SMC64, EC.BRK64):
        return f"{name} imm16={ESR_ISS_IMM16.get(iss):#x} IL={ESR_IL.get(esr)}"
    return f"{name} ISS={iss:#x} IL={ESR_IL.get(esr)}"


class A64(enum.Enum):
    """Exception-generating instruction encodings (Arm ARM C6.2): (value, mask)."""

    SVC = (0xD400_0001, 0xFFE0_001F)
    HVC = (0xD400_0002, 0xFFE0_001F)
    SMC = (0xD400_0003, 0xFFE0_001F)
    BRK = (0xD420_0000, 0xFFE0_001F)
    HLT = (0xD440_0000, 0xFFE0_001F)

    def matches(self, insn: int) -> bool:
        value, mask = self.value
        return insn & mask == value

    def encode(self, imm16: int) -> int:
        return self.value[0] | INSN_IMM16.prep(imm16)


class UcIntr(enum.IntEnum):
    """QEMU exception numbers as Unicorn's UC_HOOK_INTR reports them (target/arm/cpu.h)."""

    UDEF = 1       # PC at the instruction
    SWI = 2        # SVC; PC after it
    BKPT = 7       # BRK; PC at it
    HVC = 11       # PC after it
    HYP_TRAP = 12  # SMC trapped to EL2 by HCR_EL2.TSC; PC at it
    SMC = 13       # SMC taken to EL3; PC after it


class VectorKind(enum.IntEnum):
    """Offsets within a vector block (D1.10.2)."""

    SYNC = 0x000
    IRQ = 0x080
    FIQ = 0x100
    SERROR = 0x180


VECTOR_CURRENT_SP0 = 0x000
VECTOR_CURRENT_SPX = 0x200
VECTOR_LOWER_A64 = 0x400
VECTOR_LOWER_A32 = 0x600
VECTOR_TABLE_SIZE = 0x800


class UnsupportedState(Exception):
    """The CPU reached a state ffaemu does not model (e.g. a lower EL in AArch32)."""


ERET = 0xD69F_03E0
AARCH32_MESSAGE = ("the CPU is executing AArch32 code (an ERET with SPSR.M[4]=1, or to an EL "
                   "whose SCR_EL3.RW/HCR_EL2.RW is 0); only AArch64 is modelled")
# The instruction each QEMU exception number must have come from, if the CPU is in AArch64.
_EXPECTED_INSN = {UcIntr.SWI: A64.SVC, UcIntr.HVC: A64.HVC, UcIntr.HYP_TRAP: A64.SMC,
                  UcIntr.SMC: A64.SMC, UcIntr.BKPT: A64.BRK}


def check_aarch64(intno: int, insn: int, el: int) -> None:
    """Raise UnsupportedState when the CPU is evidently not executing A64 code.

    In AArch32 state Unicorn's PSTATE and PC registers keep their last AArch64 values
    (pstate_read and env->pc go stale), so the state is inferred: the word at the
    syndrome address must be the instruction that raised, and an UNDEFINED reported
    on an ERET at EL1 or above is the ERET that left AArch64.
    """
    expected = _EXPECTED_INSN.get(intno)
    if (expected is not None and not expected.matches(insn)) or \
            (intno == UcIntr.UDEF and insn == ERET and el > 0):
        raise UnsupportedState(AARCH32_MESSAGE)


@dataclass(frozen=True)
class Routing:
    """Where a synchronous exception goes and why (the 'why' is for traces)."""

    ec: EC
    iss: int
    from_el: int
    to_el: int
    elr: int
    reason: str

    @property
    def esr(self) -> int:
        return esr_value(self.ec, self.iss)


def vector_offset(from_el: int, to_el: int, pstate: int) -> int:
    """Offset of the synchronous vector from VBAR_ELt (D1.10.2)."""
    if from_el < to_el:
        return VECTOR_LOWER_A64
    return VECTOR_CURRENT_SPX if pstate_uses_spx(pstate) else VECTOR_CURRENT_SP0


_TGE, _NS, _HCE, _nRW, _IL = int(HCR.TGE), int(SCR.NS), int(SCR.HCE), int(PSTATE.nRW), int(PSTATE.IL)


def _el0_target(scr: int, hcr: int) -> int:
    """EL0 exceptions go to EL2 when HCR_EL2.TGE is effective (Non-secure), else EL1."""
    return 2 if (hcr & _TGE and scr & _NS) else 1


def route(intno: int, pstate: int, pc: int, insn: int, scr: int, hcr: int) -> Routing:
    """Route the exception Unicorn reported as `intno` (UC_HOOK_INTR).

    `pc` is the PC Unicorn reports and `insn` the instruction word that raised
    (read at the preferred return address for UDEF/BRK/trapped SMC, at PC-4 for
    SVC/HVC/untrapped SMC). QEMU already chose between "taken" and UNDEFINED; this
    function supplies target EL, syndrome and the reason.
    """
    el = (pstate >> 2) & 3                    # PSTATE.EL (plain ints: this runs per trap)
    if pstate & _nRW:
        raise UnsupportedState(AARCH32_MESSAGE)
    check_aarch64(intno, insn, el)
    imm16 = INSN_IMM16.get(insn)
    if intno == UcIntr.SWI:
        to_el = el if el else _el0_target(scr, hcr)
        why = "HCR_EL2.TGE" if el == 0 and to_el == 2 else "SVC"
        return Routing(EC.SVC64, imm16, el, to_el, pc, why)
    if intno == UcIntr.HVC:
        if el == 1 and not scr & _NS:
            # C6.2 HVC: UNDEFINED at Secure EL1 without Secure EL2. QEMU's pre_hvc helper
            # ignores the security state ("FIXME: Use actual secure state"), so Unicorn
            # reports an HVC; the hardware takes an UNDEFINED exception at EL1 instead.
            return Routing(EC.UNKNOWN, 0, el, 1, pc - INSN_BYTES, "HVC at Secure EL1")
        # AArch64.CallHypervisor: taken to EL3 when executed at EL3, else to EL2.
        return Routing(EC.HVC64, imm16, el, 3 if el == 3 else 2, pc, "HVC (SCR_EL3.HCE=1)")
    if intno == UcIntr.HYP_TRAP:
        return Routing(EC.SMC64, imm16, el, 2, pc, "HCR_EL2.TSC")
    if intno == UcIntr.SMC:
        return Routing(EC.SMC64, imm16, el, 3, pc, "SMC")
    to_el = el if el else _el0_target(scr, hcr)
    if intno == UcIntr.BKPT:
        return Routing(EC.BRK64, imm16, el, to_el, pc, "BRK")
    if intno == UcIntr.UDEF:
        if pstate & _IL:
            return Routing(EC.ILLEGAL_STATE, 0, el, to_el, pc, "PSTATE.IL (illegal exception return)")
        return Routing(EC.UNKNOWN, 0, el, to_el, pc, _undef_reason(insn, el, scr, hcr))
    raise UnsupportedState(f"QEMU exception number {intno} is not modelled (no interrupts or aborts)")


WFI, WFE = 0xD503_207F, 0xD503_205F          # C6.2.390 / C6.2.389
SCTLR_EL1_NTWI, SCTLR_EL1_NTWE = 1 << 16, 1 << 18
# ISS of a trapped WFx from AArch64: CV=1, COND=0b1110, TI (bit 0) = 1 for WFE (D17.2.37).
WFX_ISS = (1 << 24) | (0b1110 << 20)


def route_wfx_trap(insn: int, pstate: int, pc: int, scr: int, hcr: int, sctlr_el1: int) -> Routing | None:
    """The trap of a WFI/WFE that Unicorn reported as UNDEFINED (its QEMU decided the
    trap; we name the target and syndrome), or None if `insn` is neither. Arm ARM
    AArch64.CheckForWFxTrap: SCTLR_EL1.nTWx at EL0, then HCR_EL2.TWx (Non-secure EL0/1),
    then SCR_EL3.TWx. QEMU 7.2: ESR 0x07e00000 for WFI (tests/diff/images/wfx_traps.S)."""
    if insn not in (WFI, WFE):
        return None
    wfe = insn == WFE
    el = (pstate >> 2) & 3
    if el == 0 and not sctlr_el1 & (SCTLR_EL1_NTWE if wfe else SCTLR_EL1_NTWI):
        to_el, why = _el0_target(scr, hcr), "SCTLR_EL1.nTW" + "IE"[wfe]
    elif el <= 1 and scr & _NS and hcr & (HCR.TWE if wfe else HCR.TWI):
        to_el, why = 2, "HCR_EL2.TW" + "IE"[wfe]
    elif el <= 2 and scr & (SCR.TWE if wfe else SCR.TWI):
        to_el, why = 3, "SCR_EL3.TW" + "IE"[wfe]
    else:
        return None
    return Routing(EC.WFX, WFX_ISS | int(wfe), el, to_el, pc, why)


def route_pc_alignment(pstate: int, pc: int, scr: int, hcr: int) -> Routing:
    """A PC alignment fault (EC 0x22, ISS 0; FAR = ELR = the misaligned PC) on fetching
    from `pc` with bits [1:0] non-zero: Arm ARM D1.3.5.1 (PC alignment checking). Taken
    like an UNDEFINED instruction: to the current EL, from EL0 to EL1 or EL2 (TGE).
    QEMU 7.2 gives ESR 0x8a000000 (tests/diff/images/pc_align_el3.S)."""
    el = (pstate >> 2) & 3
    to_el = el if el else _el0_target(scr, hcr)
    return Routing(EC.PC_ALIGN, 0, el, to_el, pc, "PC alignment (misaligned branch target)")


def _undef_reason(insn: int, el: int, scr: int, hcr: int) -> str:
    """Why an instruction was UNDEFINED, for the trace (C6.2 SMC/HVC pseudocode)."""
    if A64.HVC.matches(insn):
        if el == 0:
            return "HVC at EL0"
        if not scr & SCR.HCE:
            return "HVC with SCR_EL3.HCE=0"
        return "HVC at Secure EL1"
    if A64.SMC.matches(insn):
        return "SMC at EL0" if el == 0 else "SMC with SCR_EL3.SMD=1"
    if A64.HLT.matches(insn):
        return "HLT (halting debug not enabled)"
    return "UNDEFINED instruction"


def syndrome_insn_address(intno: int, pc: int) -> int:
    """Address of the instruction that raised, given Unicorn's PC for `intno`."""
    if intno in (UcIntr.SWI, UcIntr.HVC, UcIntr.SMC):
        return pc - INSN_BYTES
    return pc


def entry_pstate(to_el: int) -> int:
    """PSTATE on entry to ELt: ELth, D/A/I/F masked, SS=IL=0, NZCV kept 0 (D1.10.4)."""
    return mode_bits(to_el, spx=True) | DAIF_ALL


def enter(cpu, r: Routing, *, pc: int | None = None) -> int:
    """Take the exception `r` on `cpu` as the hardware would (D1.10.4); return the new PC.

    Writes SPSR_ELt (the interrupted PSTATE), ELR_ELt, ESR_ELt, banks SP (the current
    SP goes to SP_EL0 or SP_ELc; SP_ELt becomes SP), sets PSTATE to ELth with DAIF
    masked, and branches to VBAR_ELt + offset, unless `pc` overrides the target.
    """
    pstate = cpu.pstate
    cur_sp_el = pstate_el(pstate) if pstate_uses_spx(pstate) else 0
    cpu.bank_sp(save_to=cur_sp_el, load_from=r.to_el)
    cpu.set_el_regs(r.to_el, elr=r.elr, esr=r.esr)
    cpu.set_pstate_and_spsr(entry_pstate(r.to_el), r.to_el, spsr=pstate)
    target = cpu.vbar(r.to_el) + vector_offset(r.from_el, r.to_el, pstate) if pc is None else pc
    cpu.pc = target
    return target


SPSR_M_RESERVED = 0b0010         # M[1] set: reserved for AArch64 (ELFromM invalid)


def _uses_aarch32(el: int, scr: int, hcr: int) -> bool:
    """ELUsingAArch32 for a lower EL, from SCR_EL3.RW and HCR_EL2.RW (Arm ARM D1.11.2).

    With HCR_EL2.TGE=1 (Non-secure, E2H=0) HCR_EL2.RW behaves as 1 for EL0.
    """
    if not scr & SCR.RW:
        return True
    if el == 2 or not scr & SCR.NS:
        return False
    if el == 0 and hcr & HCR.TGE:
        return False
    return not hcr & HCR.RW


def illegal_return(spsr: int, el: int, scr: int, hcr: int) -> str | None:
    """Why an ERET at `el` with this SPSR is an illegal exception return, else None.

    Follows AArch64.ExceptionReturn / IllegalExceptionReturn (Arm ARM D1.11.3): an
    invalid SPSR.M, a target above the current EL, EL2 in Secure state (no Secure EL2),
    EL1 while HCR_EL2.TGE=1, or an AArch64 target that SCR_EL3.RW/HCR_EL2.RW make AArch32.
    """
    if spsr & PSTATE.nRW:
        return None                       # an AArch32 target: see `eret_to_aarch32`
    target = pstate_el(spsr)
    if spsr & SPSR_M_RESERVED or (target == 0 and spsr & PSTATE.SP):
        return f"SPSR.M={spsr & 0x1F:#06b} is not a valid AArch64 mode"
    if target > el:
        return f"SPSR targets EL{target}, above the current EL{el}"
    if target == 2 and not scr & SCR.NS:
        return "SPSR targets EL2 in Secure state (no Secure EL2)"
    if target == 1 and scr & SCR.NS and hcr & HCR.TGE:
        return "SPSR targets EL1 while HCR_EL2.TGE=1"
    if target < el and _uses_aarch32(target, scr, hcr):
        rw = "SCR_EL3.RW=0" if not scr & SCR.RW else "HCR_EL2.RW=0"
        return f"SPSR targets AArch64 EL{target} but {rw} makes it AArch32"
    return None


def illegal_return_pstate(pstate: int, spsr: int) -> int:
    """PSTATE after an illegal return: EL, SP and nRW kept, NZCV/DAIF from SPSR, IL set."""
    keep = PSTATE_NZCV.mask | PSTATE_DAIF.mask
    return (pstate & ~keep) | (spsr & keep) | PSTATE.IL


def eret_to_aarch32(spsr: int) -> bool:
    """True when the ERET's SPSR.M[4] asks for AArch32, which ffaemu does not model."""
    return bool(spsr & PSTATE.nRW)


def describe_routing(r: Routing, spsr: int) -> str:
    """One-line account: 'SMC64 #0x0 at EL1 -> EL2 (HCR_EL2.TSC) ESR=... ELR=... SPSR=...'."""
    imm = f" #{r.iss:#x}" if r.ec in (EC.SVC64, EC.HVC64, EC.SMC64, EC.BRK64) else ""
    return (f"{r.ec.name}{imm} at EL{r.from_el} -> EL{r.to_el} ({r.reason}) "
            f"ESR_EL{r.to_el}={r.esr:#010x} ELR_EL{r.to_el}={r.elr:#x} "
            f"SPSR_EL{r.to_el}={spsr:#x} ({mode_name(spsr)})")
