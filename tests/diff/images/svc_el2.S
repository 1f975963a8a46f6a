// SVC at EL2h goes to EL2 itself.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ERET_FROM 3, el2, 0x3c9
el2:
    svc #0x202
    bl report
    EXIT
