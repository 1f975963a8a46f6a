// EL1 SMC trapped to EL2 (TSC), which issues its own SMC to EL3 and returns:
// EL1 -> EL2 -> EL3 -> EL2 -> EL1. ARCH.md: ESR_EL3 = 0x5e000000, SPSR_EL3 = 0x3c9.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =forward_smc
    mov w1, #1
    str w1, [x0]
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80080000
    msr hcr_el2, x0
    ERET_FROM 3, el2, 0x3c9
el2:
    ERET_FROM 2, el1, 0x3c5
el1:
    smc #0x0
    bl report
    smc #0x1
    bl report
    EXIT
