// HVC at EL2t with SCR_EL3.HCE=1: EL2's SP0 vector (+0x000).
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ERET_FROM 3, el2t, 0x3c8
el2t:
    hvc #0x20
    bl report
    EXIT
