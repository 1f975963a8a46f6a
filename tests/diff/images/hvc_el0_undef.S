// HVC at EL0 is always UNDEFINED and goes to EL1 (ELR at the HVC).
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el0, 0x3c0
el0:
    hvc #0x99
    bl report_el0
    svc #0xffff
