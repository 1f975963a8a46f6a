// regdump.S - one SMC per step, with every register x0-x17 printed after it, for the
// real-firmware differential suite (tests/fwdiff/*.S). Include it after a first `b main`.
//
//   FFA fid, a1, ...     SENTINELS, x0 = fid, x1.. = the given 64-bit values, then CALL
//   SENTINELS            xn = 0x5e0000nn_5e0000nn for n = 1..17
//   CALL                 smc #0, then "call N: x0=... x1=... ... x17=...\n" (16 hex digits)
//   SHOW_MEM addr        print 144 bytes at addr in the same format (an RX buffer)
//   EXIT                 semihosting SYS_EXIT(0) (QEMU -semihosting and ffaemu alike)
//
// The sentinels make visible whether a layer preserves, zeroes or writes a register, whole
// or its W view. x24 counts calls (the guest sets it to 0 first); the printing uses x18 and
// x25/x29, which SMCCC v1.2 callees preserve (x18-x30, DEN0028 §2.6).

.equ SYS_EXIT,     0x18
.equ UART_DR,      0x09000000

.macro SENT reg, n
    ldr \reg, =(0x5e0000005e000000 | (\n << 32) | \n)
.endm

.macro SENTINELS
    SENT x1, 1
    SENT x2, 2
    SENT x3, 3
    SENT x4, 4
    SENT x5, 5
    SENT x6, 6
    SENT x7, 7
    SENT x8, 8
    SENT x9, 9
    SENT x10, 10
    SENT x11, 11
    SENT x12, 12
    SENT x13, 13
    SENT x14, 14
    SENT x15, 15
    SENT x16, 16
    SENT x17, 17
.endm

// CALL: smc #0, save x0-x17 to `regs_out`, print them.
.macro CALL
    smc #0
    bl dump_regs
.endm

// FFA fid, a1..a7: SENTINELS, x0 = fid, x1.. = the given arguments (64-bit literals), CALL.
// An argument given as `s` keeps its sentinel.
.macro FFA fid, a1=s, a2=s, a3=s, a4=s, a5=s, a6=s, a7=s
    SENTINELS
    ldr x0, =\fid
    ARG x1, \a1
    ARG x2, \a2
    ARG x3, \a3
    ARG x4, \a4
    ARG x5, \a5
    ARG x6, \a6
    ARG x7, \a7
    CALL
.endm

.macro ARG reg, val
.ifnc \val, s
    ldr \reg, =\val
.endif
.endm

// SHOW_MEM addr: print 144 bytes at addr as if they were x0-x17 after a call (buffers).
.macro SHOW_MEM addr
    ldr x18, =\addr
    ldp x0, x1, [x18, #0]
    ldp x2, x3, [x18, #16]
    ldp x4, x5, [x18, #32]
    ldp x6, x7, [x18, #48]
    ldp x8, x9, [x18, #64]
    ldp x10, x11, [x18, #80]
    ldp x12, x13, [x18, #96]
    ldp x14, x15, [x18, #112]
    ldp x16, x17, [x18, #128]
    bl dump_regs
.endm

.macro EXIT
    mov x0, #SYS_EXIT
    ldr x1, =exit_block
    hlt #0xf000
.endm

// dump_regs: store x0-x17 (x30 = return address), print "call N: x0=... x17=...".
dump_regs:
    mov x29, x30
    ldr x18, =regs_out
    stp x0, x1, [x18, #0]
    stp x2, x3, [x18, #16]
    stp x4, x5, [x18, #32]
    stp x6, x7, [x18, #48]
    stp x8, x9, [x18, #64]
    stp x10, x11, [x18, #80]
    stp x12, x13, [x18, #96]
    stp x14, x15, [x18, #112]
    stp x16, x17, [x18, #128]
    add x24, x24, #1
    adr x0, str_call
    bl rd_puts
    mov x0, x24
    bl rd_putdec
    mov w0, #':'
    bl rd_putc
    mov x25, #0
1:  adr x0, str_x
    bl rd_puts
    mov x0, x25
    bl rd_putdec
    mov w0, #'='
    bl rd_putc
    ldr x18, =regs_out
    ldr x0, [x18, x25, lsl #3]
    bl rd_puthex
    add x25, x25, #1
    cmp x25, #18
    b.lt 1b
    mov w0, #0x0a
    bl rd_putc
    mov x30, x29
    ret

// rd_putdec: x0 < 1000 in decimal, no leading zeros (clobbers x0-x4).
rd_putdec:
    mov x4, x30
    mov x2, #100
    mov x3, #0                   // 1 once a digit was printed
2:  udiv x1, x0, x2
    msub x0, x1, x2, x0
    cbnz x1, 3f
    cbnz x3, 3f
    cmp x2, #1
    b.ne 4f
3:  mov x3, #1
    ldr x18, =UART_DR
    add w1, w1, #'0'
    strb w1, [x18]
4:  mov x1, #10
    udiv x2, x2, x1
    cbnz x2, 2b
    mov x30, x4
    ret

rd_putc:
    ldr x18, =UART_DR
    strb w0, [x18]
    ret

rd_puts:
    ldr x18, =UART_DR
1:  ldrb w1, [x0], #1
    cbz w1, 2f
    strb w1, [x18]
    b 1b
2:  ret

// rd_puthex: x0 as 16 hex digits (clobbers x0-x3, x18).
rd_puthex:
    ldr x18, =UART_DR
    mov x3, #60
1:  lsr x1, x0, x3
    and x1, x1, #0xf
    cmp x1, #10
    b.lt 2f
    add x1, x1, #0x57
    b 3f
2:  add x1, x1, #0x30
3:  strb w1, [x18]
    subs x3, x3, #4
    b.ge 1b
    ret

str_call:
    .asciz "call "
str_x:
    .asciz " x"
    .balign 8
exit_block:
    .quad 0x20026, 0
regs_out:
    .space 144
    .balign 8
