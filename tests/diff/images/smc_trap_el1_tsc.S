// SMC at NS-EL1 with HCR_EL2.TSC=1 traps to EL2; ELR_EL2 is the SMC itself.
// ARCH.md: ESR_EL2 = 0x5e001234, SPSR_EL2 = 0x3c5.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501              // SCR_EL3: NS | HCE | RW
    msr scr_el3, x0
    ERET_FROM 3, el2, 0x3c9
el2:
    ldr x0, =0x80080000         // HCR_EL2: RW | TSC
    msr hcr_el2, x0
    ERET_FROM 2, el1, 0x3c5
el1:
    smc #0x1234
    bl report
    EXIT
