// Real-firmware backend test guest (tests/test_qemu_backend.py), at NS-EL1:
// prints a line that looks like TF-A's NOTICE (but ends in "\n" alone, as guests do) and one
// with TF-A's ERROR prefix and CRLF (but text no TF-A format string produces) on the UART,
// and one line by semihosting SYS_WRITE0, then
// FFA_VERSION(1.2) (SMC32) with the sentinel 0x5a5a5a5a000000NN in each of x2-x17, prints
// x0-x17 as the caller sees them after the SMC, and exits by semihosting SYS_EXIT(3).
.equ FFA_VERSION,       0x84000063
.equ FFA_VERSION_1_2,   0x10002
.equ SENTINEL,          0x5a5a5a5a00000000
.equ SYS_EXIT,          0x18
.equ SYS_WRITE0,        0x04
.equ ADP_STOPPED_APPLICATION_EXIT, 0x20026
.equ EXIT_CODE,         3
_start:
    b main
.include "../../asm/lib/uart.S"
main:
    PUTS "NOTICE:  guest line that looks like TF-A's\n"
    PUTS "ERROR:   a guest line with TF-A's prefix and CRLF\r\n"
    mov x0, #SYS_WRITE0
    adr x1, semihosted
    hlt #0xf000
    ldr x0, =FFA_VERSION
    ldr x1, =FFA_VERSION_1_2
    ldr x2, =SENTINEL + 2
    ldr x3, =SENTINEL + 3
    ldr x4, =SENTINEL + 4
    ldr x5, =SENTINEL + 5
    ldr x6, =SENTINEL + 6
    ldr x7, =SENTINEL + 7
    ldr x8, =SENTINEL + 8
    ldr x9, =SENTINEL + 9
    ldr x10, =SENTINEL + 10
    ldr x11, =SENTINEL + 11
    ldr x12, =SENTINEL + 12
    ldr x13, =SENTINEL + 13
    ldr x14, =SENTINEL + 14
    ldr x15, =SENTINEL + 15
    ldr x16, =SENTINEL + 16
    ldr x17, =SENTINEL + 17
    smc #0
    adr x18, saved
    stp x0, x1, [x18, #0]
    stp x2, x3, [x18, #16]
    stp x4, x5, [x18, #32]
    stp x6, x7, [x18, #48]
    stp x8, x9, [x18, #64]
    stp x10, x11, [x18, #80]
    stp x12, x13, [x18, #96]
    stp x14, x15, [x18, #112]
    stp x16, x17, [x18, #128]
    mov x19, #0
print_next:
    PUTS "x"
    adr x18, saved
    ldr x0, [x18, x19, lsl #3]
    bl puthex
    mov w0, #0x0a
    bl putc
    add x19, x19, #1
    cmp x19, #18
    b.lt print_next
    mov x0, #SYS_EXIT
    adr x1, exit_block
    hlt #0xf000
    b .
.balign 8
exit_block:
    .quad ADP_STOPPED_APPLICATION_EXIT, EXIT_CODE
saved:
    .space 18 * 8
semihosted:
    .asciz "semihosting line\n"
