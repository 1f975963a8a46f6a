// SCTLR_EL3.SA=1 and a load through a misaligned SP: the Arm ARM takes an SP alignment
// fault (EC 0x26), but QEMU 7.2 does not implement SP alignment checking, and ffaemu
// follows QEMU (the load happens, no exception). Documented in README (hostile guests).
.include "../../../asm/lib/diag.S"
test_main:
    mrs x0, sctlr_el3
    orr x0, x0, #8
    msr sctlr_el3, x0
    isb
    mov x2, sp
    sub sp, sp, #8
    ldr x1, [sp]
    mov sp, x2
    bl report
    bl report
    EXIT
