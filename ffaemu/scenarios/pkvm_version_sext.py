"""Bug 1: pKVM compared the 64-bit x0 of an SMC32 FFA_VERSION reply with -1.

Every firmware model x every `--fw-upper` policy, with the guest probing after pKVM
is up. Buggy: `pkvm:version-check=u64`; fixed: `version-check=s32` (`(s32)w0 == -1`).
"""
from __future__ import annotations

from ..arch.bits import upper_kind, w
from ..arch.sysregs import PSTATE_NZCV
from ..ffa.conv import UpperPolicy
from ..runner import build_guest, run_guest
from . import ASM, Out, Scenario, VariantResult, guest

FIRMWARE_SPECS = ("tfa", "tfa-spmd", "tfa-spmd:spmc=absent", "tfa-el3-spmc", "optee")
UPPERS = tuple(p.value for p in UpperPolicy)
CHECKS = {"buggy": "u64", "fixed": "s32"}
ZEXT_MONITOR = ASM / "el3" / "monitor_ns_zext.S"


class PkvmVersionSext(Scenario):
    name = "pkvm-version-sext"
    summary = "bug 1: pKVM's FFA_VERSION check on the 64-bit x0 vs (s32)w0"
    project, fix, title = "pKVM", "", "none upstream: Linux v6.18 still compares the 64-bit x0 (hyp_ffa_init)"
    variant_options = {"buggy": "pkvm:version-check=u64", "fixed": "pkvm:version-check=s32"}
    variants = {"buggy": (True, "version-check=u64: `cmn x0, #1` semantics"),
                "fixed": (False, "version-check=s32: `cmn w0, #1` semantics")}

    def run(self, variant: str, out: Out) -> VariantResult:
        check = CHECKS[variant]
        cells, traces = {}, {}
        for fw in FIRMWARE_SPECS:
            for upper in UPPERS:
                lines: list[str] = []
                run = run_guest(guest("ffa_deferred.S"), fw, f"pkvm:version-check={check}",
                                fw_upper=upper, seed=1, trace=lines.append, console=_console(lines))
                cells[(fw, upper)] = _cell(run.hypervisor)
                traces[(fw, upper)] = lines
        refused = [key for key, cell in cells.items() if cell["status"] == "REFUSED"]
        shown = refused[0] if refused else ("tfa-spmd:spmc=absent", "real")
        out(f"-- trace of {shown[0]} with --fw-upper {shown[1]}:")
        for line in traces[shown]:
            out("   " + line)
        out(_table(cells))
        asm = _instruction_level(check, out)
        if refused:
            fw, upper = refused[0]
            x0 = cells[refused[0]]["answer"]
            verdict = (f"pKVM refused to initialise in {len(refused)} of {len(cells)} cells: EOPNOTSUPP "
                       f"- firmware answered NOT_SUPPORTED with x0={x0:#018x} ({_kind(x0)}, e.g. {fw} "
                       f"with --fw-upper {upper}); the 64-bit compare with -1 missed it")
        else:
            verdict = (f"pKVM initialised in all {len(cells)} cells: the (s32)w0 check reads "
                       "NOT_SUPPORTED the same whether firmware zero-extends, sign-extends or "
                       "leaves garbage in bits [63:32]")
        return self.result(variant, verdict, bool(refused) or asm["refused"], cells=cells, asm=asm)


def _instruction_level(check: str, out: Out) -> dict:
    """The assembly proxy's compare, instruction by instruction, against `mov w0, #-1` at EL3."""
    proxy = ASM / "el2" / f"pkvm_proxy_{check}.S"
    console: list[str] = []
    setup = build_guest(guest("ffa_deferred.S"), str(ZEXT_MONITOR), str(proxy),
                        console=_console(console))
    at = setup.hypervisor.symbols["version_check"]
    seen = {}

    def before(m):
        seen.update(x0=m.cpu.x(0), insn=m.insn_text(at))

    def after(m):
        seen.update(nzcv=PSTATE_NZCV.get(m.cpu.pstate))

    setup.machine.watch(at, before)
    setup.machine.watch(at + 4, after)
    setup.run()
    refused = any("refusing to initialise" in line for line in console)
    taken = bool(seen["nzcv"] & 0b0100)            # b.eq: Z set
    out(f"-- instruction level: {proxy.relative_to(ASM.parent)} against "
        f"{ZEXT_MONITOR.relative_to(ASM.parent)} (FFA_VERSION -> `mov w0, #-1`):")
    out(f"   {at:#x} <version_check>: {seen['insn']:<14} x0={seen['x0']:#018x} "
        f"w0={w(seen['x0']):#010x} -> NZCV={seen['nzcv']:04b}: b.eq no_ffa "
        f"{'taken (no FF-A, continue)' if taken else 'NOT taken'}")
    for line in console:
        if line.startswith("| pkvm(asm)") or line.startswith("| PKVM_INIT"):
            out("   " + line)
    return {"insn": seen["insn"], "x0": seen["x0"], "taken": taken, "refused": refused}


def _console(lines: list[str]):
    buf = []

    def sink(text: str) -> None:
        buf.append(text)
        if "\n" in text:
            joined = "".join(buf)
            *complete, rest = joined.split("\n")
            lines.extend(f"| {c}" for c in complete)
            buf[:] = [rest] if rest else []
    return sink


def _cell(pkvm) -> dict:
    answer = pkvm.init_answer
    if pkvm.refused:
        status = "REFUSED"
    elif pkvm.ffa_available:
        status = f"ok, FF-A 1.{pkvm.hyp_version & 0xFFFF}"
    else:
        status = "ok, no FF-A"
    return {"status": status, "answer": answer}


def _kind(x0: int) -> str:
    kind = upper_kind(x0)
    return {"zero": "zero-extended", "sign": "sign-extended"}.get(kind, "garbage above w0")


def _table(cells: dict) -> str:
    head = f"   {'firmware':<22}" + "".join(f"{u:<16}" for u in UPPERS)
    rows = [head]
    for fw in FIRMWARE_SPECS:
        rows.append(f"   {fw:<22}" + "".join(f"{cells[(fw, u)]['status']:<16}" for u in UPPERS))
    return "\n".join(rows)


__all__ = ["PkvmVersionSext", "w"]
