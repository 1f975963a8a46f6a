// ERET from EL2 to AArch64 EL1 while HCR_EL2.RW=0 (EL1 would be AArch32) is an
// illegal exception return (Arm ARM D1.11.3): PSTATE.IL is set, the EL stays EL2,
// and the next instruction takes an Illegal Execution state exception (EC 0x0E) at EL2.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ERET_FROM 3, el2, 0x3c9
el2:
    mov x0, #0                  // HCR_EL2.RW = 0
    msr hcr_el2, x0
    ERET_FROM 2, el1, 0x3c5
el1:
    bl report                   // still EL2: the return was illegal
    EXIT
