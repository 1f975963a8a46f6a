// HVC with SCR_EL3.HCE=0 is UNDEFINED at the current EL: EL1 takes EC 0 with
// ELR at the HVC itself.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x401              // SCR_EL3: NS | RW, HCE=0
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    hvc #0x1
    bl report
    EXIT
