// CPTR_EL3.TFP=1 traps an FP/SIMD instruction at EL3 to EL3: EC 0x07, ISS CV=1
// COND=0b1110 (QEMU 7.2: ESR 0x1fe00000), ELR at the instruction, which does not run.
.include "../../../asm/lib/diag.S"
test_main:
    mrs x0, cptr_el3
    orr x0, x0, #0x400
    msr cptr_el3, x0
    isb
    mov x1, #5
    fmov d0, x1
    bl report
    mrs x0, cptr_el3
    bic x0, x0, #0x400
    msr cptr_el3, x0
    isb
    fmov d0, x1                 // no trap any more
    bl report
    EXIT
