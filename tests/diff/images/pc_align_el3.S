// A branch to a misaligned address takes a PC alignment fault (EC 0x22, ISS 0) at the
// current EL before anything there runs: ELR = FAR = the misaligned PC (Arm ARM D1.3.5.1).
// QEMU 7.2: ESR 0x8a000000. The handler resumes at x30.
.include "../../../asm/lib/diag.S"
test_main:
    adr x30, back
    adr x1, target
    add x1, x1, #2
    ret x1                      // not br: BR sets PSTATE.BTYPE on a BTI cpu (max), not on a72
back:
    mrs x0, far_el3
    bl puthex
    mov w0, #0x0a
    bl putc
    bl report
    EXIT
target:
    nop
