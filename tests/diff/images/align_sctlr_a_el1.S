// SCTLR_EL1.A=1 at NS-EL1: a misaligned SIMD&FP store and a misaligned pair load
// (post-index) take Data Aborts to EL1 (EC 0x25); SCTLR_EL2.A does not apply to EL1.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    ldr x0, =0x80000000
    msr hcr_el2, x0
    mov x0, #(3 << 20)
    msr cpacr_el1, x0
    mrs x0, sctlr_el1
    orr x0, x0, #2
    msr sctlr_el1, x0
    ERET_FROM 3, el1, 0x3c5
el1:
    ldr x0, =0x40300002
    str d1, [x0]                // misaligned 8-byte SIMD&FP store
    ldp w1, w2, [x0], #8        // 4-byte elements at 0x40300002: misaligned
    ldr w1, [x0, #2]            // 0x40300004: aligned
    mrs x0, far_el1
    bl puthex
    mov w0, #0x0a
    bl putc
    bl report
    svc #0xffff
