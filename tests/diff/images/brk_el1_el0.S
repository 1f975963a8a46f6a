// BRK: EC 0x3C, ISS = imm16, ELR at the BRK; EL0 BRK goes to EL1.
.include "../../../asm/lib/diag.S"
test_main:
    brk #0x3
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    brk #0x1234
    bl report
    ERET_FROM 1, el0, 0x0
el0:
    brk #0xffff
    bl report_el0
    svc #0xffff
