// With HCR_EL2.TGE=1 an UNDEFINED instruction at NS-EL0 goes to EL2.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x88000000
    msr hcr_el2, x0
    ERET_FROM 3, el0, 0x0
el0:
    .word 0x00000000
    bl report_el0
    svc #0xffff
