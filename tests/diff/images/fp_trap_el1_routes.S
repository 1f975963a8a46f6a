// FP/SIMD at NS-EL1 (Arm ARM AArch64.CheckFPAdvSIMDEnabled): CPACR_EL1.FPEN=0 traps to
// EL1; with FPEN=3, CPTR_EL2.TFP=1 traps to EL2. EC 0x07, ESR 0x1fe00000 (QEMU 7.2).
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    mov x0, #0x400
    msr cptr_el2, x0            // CPTR_EL2.TFP
    msr cptr_el3, xzr
    msr cpacr_el1, xzr          // FPEN = 0b00
    ERET_FROM 3, el1, 0x3c5
el1:
    fmov d0, xzr                // -> EL1
    mov x0, #(3 << 20)
    msr cpacr_el1, x0
    isb
    ldr q1, [sp]                // -> EL2 (a SIMD&FP load)
    bl report
    svc #0xffff
