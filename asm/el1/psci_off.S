// A minimal EL1 guest: ask the firmware for the PSCI version, print it, power off.
    .equ UART_DR, 0x09000000
_start:
    ldr x0, =0x84000000         // PSCI_VERSION (SMC32)
    smc #0
    mov w19, w0                 // w0: PSCI version, 32-bit result
    ldr x1, =UART_DR
    mov w0, #0x50               // 'P'
    strb w0, [x1]
    add w0, w19, #0x30          // minor version digit
    strb w0, [x1]
    mov w0, #0x0a
    strb w0, [x1]
    ldr x0, =0x84000008         // PSCI SYSTEM_OFF
    smc #0
    b .
