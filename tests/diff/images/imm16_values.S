// The syndrome carries imm16 for SVC/HVC/SMC across its whole range.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80080000
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    svc #0x0
    svc #0x1
    svc #0x8000
    svc #0xfffe
    hvc #0xabcd
    hvc #0xffff
    smc #0x5555
    smc #0xffff
    bl report
    EXIT
