// Trapped WFI (Arm ARM AArch64.CheckForWFxTrap): EC 0x01, ISS CV=1 COND=0b1110 TI=0
// (QEMU 7.2: ESR 0x07e00000), ELR at the instruction. EL1: WFI by HCR_EL2.TWI -> EL2.
// EL0 with SCTLR_EL1.nTWI=0: WFI -> EL1. WFE with SCR_EL3.TWE=1 is NOT trapped by QEMU
// 7.2 (its WFE is a yield that checks no trap control) nor by Unicorn; ffaemu follows
// QEMU here (the architecture would take it to EL3 with TI=1).
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x2501             // SCR_EL3: NS, HCE, RW, TWE
    msr scr_el3, x0
    ldr x0, =0x80002000         // HCR_EL2: RW, TWI
    msr hcr_el2, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    wfi                         // -> EL2
    wfe                         // not trapped (QEMU 7.2)
    mrs x0, sctlr_el1
    bic x0, x0, #(1 << 16)      // nTWI = 0
    orr x0, x0, #(1 << 18)      // nTWE = 1
    msr sctlr_el1, x0
    isb
    ERET_FROM 1, el0, 0x0
el0:
    wfi                         // -> EL1
    wfe                         // not trapped (QEMU 7.2)
    bl report_el0
    svc #0xffff
