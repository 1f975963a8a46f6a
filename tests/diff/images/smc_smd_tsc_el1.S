// HCR_EL2.TSC takes priority over SCR_EL3.SMD: the SMC traps to EL2.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x581
    msr scr_el3, x0
    ldr x0, =0x80080000
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    smc #0x7
    bl report
    EXIT
