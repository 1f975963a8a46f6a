// NZCV and DAIF of the interrupted context land in SPSR and come back on ERET;
// the handler runs with DAIF=0xF regardless.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80080000
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x005     // EL1h with DAIF all clear
el1:
    ldr x0, =0xa0000000         // N and C
    msr nzcv, x0
    msr daifset, #0x5           // A and F
    svc #0x1
    bl report
    ldr x0, =0x50000000         // Z and V
    msr nzcv, x0
    msr daifclr, #0xf
    msr daifset, #0x2           // I only
    smc #0x2                    // trapped to EL2
    bl report
    hvc #0x3
    bl report
    mrs x0, daif
    bl puthex
    mov w0, #0x0a
    bl putc
    EXIT
