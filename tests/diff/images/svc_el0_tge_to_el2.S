// SVC at NS-EL0 with HCR_EL2.TGE=1 goes to EL2 (lower EL, AArch64 vector +0x400).
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x88000000         // HCR_EL2: RW | TGE
    msr hcr_el2, x0
    ERET_FROM 3, el0, 0x0
el0:
    svc #0x2e
    bl report_el0
    svc #0xffff
