// Secure EL1 (SCR_EL3.NS=0): HCR_EL2.TSC does not apply, the SMC goes to EL3.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x500              // SCR_EL3: HCE | RW, NS=0
    msr scr_el3, x0
    ldr x0, =0x80080000         // RW | TSC
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    smc #0x9
    bl report
    EXIT
