// ERET at EL1 with SPSR_EL1 naming EL2h targets a higher EL: an illegal exception
// return (Arm ARM D1.11.3); EL1 takes EC 0x0E at the return address.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    ERET_FROM 1, target, 0x3c9
target:
    bl report
    EXIT
