// Every EL's stack pointer survives a round trip through the ELs above it:
// each EL moves its SP, traps upward, and prints SP after the return.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    sub sp, sp, #0x30
    svc #0x1
    bl report
    ERET_FROM 3, el2, 0x3c9
el2:
    sub sp, sp, #0x20
    hvc #0x2
    smc #0x2
    bl report
    ERET_FROM 2, el1, 0x3c5
el1:
    sub sp, sp, #0x10
    hvc #0x3
    smc #0x3
    svc #0x3
    bl report
    ERET_FROM 1, el0, 0x0
el0:
    sub sp, sp, #0x40
    svc #0x4
    bl report_el0
    svc #0xffff
