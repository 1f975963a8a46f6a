// ffa_driver.S - a Linux-driver-like FF-A client for NS-EL1 guests (pKVM scenarios).
// Include it after a first `b main`: the guest's first instruction is its entry.
// Every call prints "NAME w0=XXXXXXXX w2=XXXXXXXX" (the W views: SMC32 results are
// 32-bit, whatever the firmware left in bits [63:32]). x28 = 1 once FF-A is usable.

.include "ffa_abi.S"

// FFA_PROBE: what the driver does at probe time (drivers/firmware/arm_ffa/driver.c).
.macro FFA_PROBE
    mov x28, #0
    ldr x0, =FFA_VERSION
    ldr x1, =FFA_VERSION_1_2
    smc #0
    REPORT "FFA_VERSION"
    cmn w19, #1                  // (s32)w0 == FFA_RET_NOT_SUPPORTED: the W view
    b.eq 8f
    lsr w0, w19, #16
    cmp w0, #1                   // major 1 only
    b.ne 8f
    mov x28, #1
    ldr x0, =FFA_ID_GET
    smc #0
    REPORT "FFA_ID_GET"
    ldr x0, =FFA_FEATURES
    ldr x1, =FFA_RXTX_MAP_64
    smc #0
    REPORT "FFA_FEATURES"
    ldr x0, =FFA_RXTX_MAP_64
    ldr x1, =tx_buf
    ldr x2, =rx_buf
    mov x3, #1
    smc #0
    REPORT "FFA_RXTX_MAP"
    ldr x0, =FFA_PARTITION_INFO_GET
    mov x1, #0
    mov x2, #0
    mov x3, #0
    mov x4, #0
    mov x5, #0
    smc #0
    REPORT "FFA_PARTITION_INFO_GET"
    ldr x0, =FFA_RX_RELEASE
    smc #0
    REPORT "FFA_RX_RELEASE"
    b 9f
8:  PUTS "ffa: firmware has no usable FF-A\n"
9:
.endm

// PKVM_INIT: KVM's init hypercall, which makes pKVM set HCR_EL2.TSC.
.macro PKVM_INIT
    ldr x0, =PKVM_INIT_FID
    hvc #0
    mov x19, x0
    PUTS "PKVM_INIT x0="
    mov x0, x19
    bl puthex
    mov w0, #0x0a
    bl putc
.endm

// FFA_USE: what client drivers do later: a direct request, a memory share and reclaim.
.macro FFA_USE
    cbz x28, 9f
    ldr x0, =FFA_DIRECT_REQ_64
    ldr x1, =ECHO_PARTITION      // sender 0 (host) << 16 | receiver
    mov x2, #0
    ldr x3, =0x1111222233334444
    mov x4, #5
    mov x5, #6
    mov x6, #7
    mov x7, #8
    smc #0
    REPORT "FFA_MSG_SEND_DIRECT_REQ"
    ldr x0, =FFA_MEM_SHARE_64
    mov x1, #DESC_LEN
    mov x2, #DESC_LEN
    mov x3, #0
    mov x4, #0
    smc #0
    REPORT "FFA_MEM_SHARE"
    mov w23, w21                 // handle, low word
    mov w24, w22                 // handle, high word
    ldr x0, =FFA_MEM_RECLAIM
    mov w1, w23
    mov w2, w24
    mov x3, #0
    smc #0
    REPORT "FFA_MEM_RECLAIM"
9:
.endm

.macro POWER_OFF
    PUTS "guest: done\n"
    ldr x0, =PSCI_SYSTEM_OFF
    smc #0
1:  b 1b
.endm

.include "uart.S"

// Buffers: TX holds the memory transaction descriptor for FFA_MEM_SHARE from the
// start (one receiver, the echo partition; one page, share_page).
    .balign 4096
tx_buf:
    .hword 0                     // sender: the host, endpoint 0
    .hword 0x2f                  // memory attributes: normal, write-back, inner shareable
    .word 0                      // flags
    .quad 0                      // handle
    .quad 0                      // tag
    .word 16                     // endpoint memory access descriptor size
    .word 1                      // endpoint count
    .word 48                     // offset of the first descriptor
    .space 12
    .hword ECHO_PARTITION        // receiver
    .byte 6                      // read/write
    .byte 0
    .word 64                     // composite descriptor offset
    .quad 0
    .word 1                      // total pages
    .word 1                      // address ranges
    .quad 0
    .quad share_page
    .word 1
    .word 0
    .balign 4096
rx_buf:
    .space 4096
share_page:
    .space 4096
