// ERET from EL3 to EL2 with SCR_EL3.NS=0: there is no Secure EL2, so the return is
// illegal and EL3 takes EC 0x0E.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x500              // HCE | RW, NS=0
    msr scr_el3, x0
    ERET_FROM 3, target, 0x3c9
target:
    bl report
    EXIT
