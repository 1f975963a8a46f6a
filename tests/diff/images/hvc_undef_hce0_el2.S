// HVC at EL2 with SCR_EL3.HCE=0 is UNDEFINED at EL2.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x401
    msr scr_el3, x0
    ERET_FROM 3, el2, 0x3c9
el2:
    hvc #0x2
    bl report
    EXIT
