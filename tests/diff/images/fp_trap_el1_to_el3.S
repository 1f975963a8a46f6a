// FP/SIMD at NS-EL1 with CPACR_EL1.FPEN=3 and CPTR_EL2.TFP=0 but CPTR_EL3.TFP=1: the
// trap goes to EL3 (EC 0x07). An MRS of FPCR traps too.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    msr cptr_el2, xzr
    mov x0, #(3 << 20)
    msr cpacr_el1, x0
    mov x0, #0x400
    msr cptr_el3, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    fadd d0, d1, d2             // -> EL3
    mrs x1, fpcr                // -> EL3
    bl report
    svc #0xffff
