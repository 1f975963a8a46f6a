// HVC at Secure EL1 (SCR_EL3.NS=0, no Secure EL2) is UNDEFINED even with
// SCR_EL3.HCE=1 (Arm ARM C6.2 HVC pseudocode): EC 0 at EL1, ELR at the HVC.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x500              // SCR_EL3: HCE | RW, NS=0
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
hvc_insn:
    hvc #0x11
    bl report
    EXIT
