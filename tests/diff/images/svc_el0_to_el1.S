// SVC at EL0 with HCR_EL2.TGE=0 goes to EL1, ELR = next instruction (Arm ARM D1.10).
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501              // SCR_EL3: NS | HCE | RW
    msr scr_el3, x0
    ldr x0, =0x80000000         // HCR_EL2: RW
    msr hcr_el2, x0
    ERET_FROM 3, el0, 0x0       // EL0t, DAIF clear
el0:
    svc #0x15
    bl report_el0
    svc #0xffff
