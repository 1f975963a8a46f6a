// ERET from EL2 to EL1 while HCR_EL2.TGE=1 is illegal.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ERET_FROM 3, el2, 0x3c9
el2:
    ldr x0, =0x88000000         // RW | TGE
    msr hcr_el2, x0
    ERET_FROM 2, target, 0x3c5
target:
    bl report
    EXIT
