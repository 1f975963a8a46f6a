// SVC at EL1h goes to EL1 itself (current EL with SPx: vector +0x200).
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    svc #0x101
    bl report
    EXIT
