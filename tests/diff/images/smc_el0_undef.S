// SMC at EL0 is UNDEFINED and goes to EL1 (ELR at the SMC).
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80080000
    msr hcr_el2, x0
    ERET_FROM 3, el0, 0x0
el0:
    smc #0x8
    bl report_el0
    svc #0xffff
