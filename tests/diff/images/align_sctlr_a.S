// SCTLR_EL3.A=1: a misaligned load or store at EL3 takes a Data Abort to EL3 (EC 0x25,
// DFSC 0b100001 alignment fault, WnR for the store; QEMU 7.2: ESR 0x96000021 and
// 0x96000061), FAR = the address; aligned accesses and byte accesses run. With A=0
// again, misaligned accesses run (MMU off: QEMU 7.2 does not check the memory type).
.include "../../../asm/lib/diag.S"
test_main:
    mrs x0, sctlr_el3
    orr x0, x0, #2
    msr sctlr_el3, x0
    isb
    ldr x0, =0x40300001
    ldr x1, [x0]                // misaligned 8-byte load
    mrs x19, far_el3
    str w1, [x0, #1]!           // misaligned 4-byte store, pre-index (no writeback: it faulted)
    mrs x20, far_el3
    ldrb w1, [x0]               // byte: always aligned
    ldr x4, =0x40300008
    ldp x4, x5, [x4]            // 8-byte elements, aligned
    ldr x1, =0x40300000
    mov x6, #6
    ldrh w7, [x1, x6]           // register offset: 0x40300006, aligned
    ldr w1, [x1, x6]            // misaligned 4-byte load at 0x40300006
    mrs x21, far_el3
    mov x0, x19                 // FARs: 0x40300001, 0x40300002, 0x40300006
    bl puthex
    mov x0, x20
    bl puthex
    mov x0, x21
    bl puthex
    mov w0, #0x0a
    bl putc
    mrs x0, sctlr_el3
    bic x0, x0, #2
    msr sctlr_el3, x0
    isb
    ldr x0, =0x40300003
    ldr x1, [x0]                // A=0: runs
    bl report
    EXIT
