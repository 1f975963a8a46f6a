// HVC at EL1 with SCR_EL3.HCE=1 goes to EL2, ELR = next instruction.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    hvc #0x4b1
    bl report
    EXIT
