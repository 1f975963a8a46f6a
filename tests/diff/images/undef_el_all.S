// An UNDEFINED instruction is taken at the current EL (EL0 -> EL1), EC 0, ISS 0,
// ELR at the instruction.
.include "../../../asm/lib/diag.S"
test_main:
    .word 0x00000000            // EL3
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el2, 0x3c9
el2:
    .word 0x00000000
    ERET_FROM 2, el1, 0x3c5
el1:
    .word 0x00000000
    bl report
    ERET_FROM 1, el0, 0x0
el0:
    .word 0x00000000
    bl report_el0
    svc #0xffff
