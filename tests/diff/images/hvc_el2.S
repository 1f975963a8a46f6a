// HVC at EL2h with SCR_EL3.HCE=1 goes to EL2 itself (+0x200).
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ERET_FROM 3, el2, 0x3c9
el2:
    hvc #0x4b2
    bl report
    EXIT
