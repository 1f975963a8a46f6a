// uart.S - PL011 console output for stubs and guests (QEMU virt: UARTDR at 0x09000000).
// Routines clobber x0-x4 and x30 only.

.equ UART_DR,      0x09000000

// PUTS "text": print a string (clobbers x0-x4, x30).
.macro PUTS text
    adr x0, 1f
    bl puts
    b 2f
1:  .asciz "\text"
    .balign 4
2:
.endm

// putc: w0 = character.
putc:
    ldr x1, =UART_DR
    strb w0, [x1]
    ret

// puts: x0 = NUL-terminated string.
puts:
    ldr x1, =UART_DR
1:  ldrb w2, [x0], #1
    cbz w2, 2f
    strb w2, [x1]
    b 1b
2:  ret

// puthex: print x0 as 16 hex digits.
puthex:
    mov x3, #60
    b puthex_digits

// puthex32: print w0 as 8 hex digits.
puthex32:
    mov w0, w0
    mov x3, #28

// puthex_digits: print x0's nibbles from bit x3 down to bit 0.
puthex_digits:
    ldr x1, =UART_DR
1:  lsr x4, x0, x3
    and x4, x4, #0xf
    cmp x4, #10
    b.lt 2f
    add x4, x4, #0x57
    b 3f
2:  add x4, x4, #0x30
3:  strb w4, [x1]
    subs x3, x3, #4
    b.ge 1b
    ret
