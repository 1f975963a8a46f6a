// SMC at EL2 goes to EL3 (TSC only traps EL1); ARCH.md: SPSR_EL3 = 0x3c9.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80080000         // RW | TSC: does not apply to EL2
    msr hcr_el2, x0
    ERET_FROM 3, el2, 0x3c9
el2:
    smc #0x0
    bl report
    EXIT
