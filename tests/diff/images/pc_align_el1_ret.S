// `ret` to a misaligned x30 at EL1: PC alignment fault to EL1 (EC 0x22), FAR_EL1 = ELR_EL1.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    adr x2, target
    orr x2, x2, #1
    adr x30, back
    ret x2
back:
    mrs x0, far_el1
    bl puthex
    mov w0, #0x0a
    bl putc
    bl report
    EXIT
target:
    nop
