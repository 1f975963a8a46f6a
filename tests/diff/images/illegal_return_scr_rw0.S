// ERET from EL3 to AArch64 EL2 while SCR_EL3.RW=0 (the reset value) is illegal:
// the classic missing-RW bring-up bug.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x101              // NS | HCE, RW=0
    msr scr_el3, x0
    ERET_FROM 3, target, 0x3c9
target:
    bl report
    EXIT
