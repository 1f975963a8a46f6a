// HCR_EL2.TGE is ignored in Secure state (no Secure EL2): Secure EL0 SVC goes to EL1.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x500              // SCR_EL3: HCE | RW, NS=0
    msr scr_el3, x0
    ldr x0, =0x88000000         // HCR_EL2: RW | TGE
    msr hcr_el2, x0
    ERET_FROM 3, el0, 0x0
el0:
    svc #0x77
    bl report_el0
    svc #0xffff
