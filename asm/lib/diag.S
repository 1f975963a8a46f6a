// diag.S - shared start-up, UART printing and transcript-printing vectors for
// the differential images (tests/diff/images/*.S). Include it first: _start is
// its first instruction. The image provides `test_main`, entered at EL3h with:
//   VBAR_EL3/EL2/EL1 = vectors_el3/el2/el1, SP_EL3/EL2/EL1/EL0 = STACK_ELn.
// At every vector entry the handler prints
//   "EL<n> V<offset> ESR=<hex> ELR=<hex> SPSR=<hex> SP=<hex> DAIF=<hex>"
// and then returns: SVC/HVC/untrapped SMC to ELR, an illegal-state exception to
// ELR with SPSR.IL cleared, a PC alignment fault to the x30 it interrupted,
// everything else to ELR+4.
// Special cases: `svc #0xffff` ends the run (semihosting exit from the handler's
// EL); a trapped SMC at EL2 is forwarded to EL3 with `smc #0` when the word
// `forward_smc` is non-zero.

.equ STACK_EL0,    0x40200000
.equ STACK_EL1,    0x40210000
.equ STACK_EL2,    0x40220000
.equ STACK_EL3,    0x40230000
.equ SYS_EXIT,     0x18
.equ FRAME,        0x40
.equ EC_SVC,       0x15
.equ EC_HVC,       0x16
.equ EC_SMC,       0x17
.equ EC_ILLEGAL,   0x0e
.equ EC_PC_ALIGN,  0x22
.equ SPSR_IL,      0x100000
.equ SVC_EXIT,     0xffff

_start:
    ldr x0, =STACK_EL3
    mov sp, x0
    ldr x0, =vectors_el3
    msr vbar_el3, x0
    ldr x0, =vectors_el2
    msr vbar_el2, x0
    ldr x0, =vectors_el1
    msr vbar_el1, x0
    ldr x0, =STACK_EL2
    msr sp_el2, x0
    ldr x0, =STACK_EL1
    msr sp_el1, x0
    ldr x0, =STACK_EL0
    msr sp_el0, x0
    mov x0, #0
    b test_main

// ERET_FROM el, label, spsr: leave EL<el> for `label` with SPSR_EL<el> = spsr.
.macro ERET_FROM el, label, spsr
    ldr x0, =\label
    msr elr_el\el, x0
    ldr x0, =\spsr
    msr spsr_el\el, x0
    eret
.endm

.include "uart.S"

// EXIT: semihosting SYS_EXIT(0); EL1 or above.
.macro EXIT
    mov x0, #SYS_EXIT
    ldr x1, =exit_block
    hlt #0xf000
.endm


// report: "RET EL=<n> NZCV=<hex> SP=<hex>" for the caller (EL1 and above).
report:
    mrs x5, nzcv
    mov x6, sp
    mrs x7, CurrentEL
    b report_common
// report_el0: the same from EL0, where CurrentEL is not accessible.
report_el0:
    mrs x5, nzcv
    mov x6, sp
    mov x7, #0
report_common:
    stp x29, x30, [sp, #-16]!
    PUTS "RET EL="
    lsr x0, x7, #2
    add x0, x0, #0x30
    bl putc
    PUTS " NZCV="
    mov x0, x5
    bl puthex
    PUTS " SP="
    mov x0, x6
    bl puthex
    mov w0, #0x0a
    bl putc
    ldp x29, x30, [sp], #16
    ret

// VCOMMON el: body shared by the 16 entries of one EL's vector table.
// On entry x0 = vector offset; x0-x1 saved at [sp], x2-x7/x29/x30 below.
.macro VCOMMON el
vcommon_el\el:
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x29, x30, [sp, #-16]!
    mov x6, x0
    PUTS "EL\el V"
    mov x0, x6
    bl puthex
    PUTS " ESR="
    mrs x0, esr_el\el
    bl puthex
    PUTS " ELR="
    mrs x0, elr_el\el
    bl puthex
    PUTS " SPSR="
    mrs x0, spsr_el\el
    bl puthex
    PUTS " SP="
    add x0, sp, #(FRAME + 16)
    bl puthex
    PUTS " DAIF="
    mrs x0, daif
    bl puthex
    mov w0, #0x0a
    bl putc
    mrs x0, esr_el\el
    lsr x1, x0, #26
    and x0, x0, #0xffff
    cmp x1, #EC_SVC
    b.ne 4f
    mov x2, #SVC_EXIT
    cmp x0, x2
    b.ne 5f
    EXIT
4:  cmp x1, #EC_PC_ALIGN
    b.eq 8f
    cmp x1, #EC_ILLEGAL
    b.eq 7f
    cmp x1, #EC_HVC
    b.eq 5f
    cmp x1, #EC_SMC
    b.ne 6f
    mov x2, #\el
    cmp x2, #3
    b.eq 5f
    ldr x2, =forward_smc
    ldr w2, [x2]
    cbz w2, 6f
    mov x0, #0
    smc #0
6:  mrs x0, elr_el\el
    add x0, x0, #4
    msr elr_el\el, x0
    b 5f
8:  ldr x0, [sp, #8]               // PC alignment: resume at the interrupted x30
    msr elr_el\el, x0
    b 5f
7:  mrs x0, spsr_el\el             // illegal state: clear SPSR.IL, retry at ELR
    bic x0, x0, #SPSR_IL
    msr spsr_el\el, x0
5:  ldp x29, x30, [sp], #16
    ldp x0, x1, [sp]
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    add sp, sp, #FRAME
    eret
.endm

.macro VENT el, off
    .balign 0x80
    sub sp, sp, #FRAME
    stp x0, x1, [sp]
    mov x0, #\off
    b vcommon_el\el
.endm

.macro VTABLE el
    .balign 0x800
vectors_el\el:
    VENT \el, 0x000
    VENT \el, 0x080
    VENT \el, 0x100
    VENT \el, 0x180
    VENT \el, 0x200
    VENT \el, 0x280
    VENT \el, 0x300
    VENT \el, 0x380
    VENT \el, 0x400
    VENT \el, 0x480
    VENT \el, 0x500
    VENT \el, 0x580
    VENT \el, 0x600
    VENT \el, 0x680
    VENT \el, 0x700
    VENT \el, 0x780
    VCOMMON \el
.endm

    VTABLE 3
    VTABLE 2
    VTABLE 1

    .balign 8
exit_block:
    .quad 0x20026, 0
forward_smc:
    .word 0
    .balign 4
