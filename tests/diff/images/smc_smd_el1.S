// SMC at EL1 with SCR_EL3.SMD=1 (and no TSC) is UNDEFINED at EL1.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x581              // SCR_EL3: NS | SMD | HCE | RW
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    smc #0x5
    bl report
    EXIT
