// SMC at EL2 with SCR_EL3.SMD=1 is UNDEFINED at EL2.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x581
    msr scr_el3, x0
    ERET_FROM 3, el2, 0x3c9
el2:
    smc #0x6
    bl report
    EXIT
