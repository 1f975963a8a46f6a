// SVC at EL1t (SP_EL0 in use) uses the "current EL with SP0" vector (+0x000);
// on return SP is SP_EL0 again.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el1t, 0x3c4
el1t:
    svc #0x10
    bl report
    EXIT
