// RX/TX buffers, FFA_PARTITION_INFO_GET (before and after FFA_VERSION: descriptor sizes
// 8 and 24), FFA_RX_RELEASE ownership, and direct requests to OP-TEE's endpoint: its
// blocking calls, framework messages, wrong endpoint IDs. Buffer error paths: misaligned,
// zero pages, garbage in x3[63:32], outside Non-secure RAM, secure memory, double map.
_start:
    b main
.include "../../asm/lib/regdump.S"
.equ OPTEE_UUID0, 0xe0786148
.equ OPTEE_UUID1, 0xe311f8e7
.equ OPTEE_UUID2, 0x02005ebc
.equ OPTEE_UUID3, 0x1bc5d5a5
main:
    mov x24, #0
    FFA 0xC4000066, tx_buf, rx_buf, 1       // FFA_RXTX_MAP_64 before FFA_VERSION
    FFA 0xC4000073, 80, 80, 0, 0, 0, 0, 0   // MEM_SHARE_64 of an FF-A 1.0 descriptor (in TX)
    FFA 0x84000068, 0, 0, 0, 0, 1           // PARTITION_INFO_GET nil UUID, count only (v1.0)
    FFA 0x84000068, 0, 0, 0, 0, 0           // ... into RX (v1.0 layout, 8-byte entries)
    SHOW_MEM rx_buf
    FFA 0x84000068, 0, 0, 0, 0, 0           // RX still full: BUSY
    FFA 0x84000065                          // FFA_RX_RELEASE
    FFA 0x84000065                          // ... twice: DENIED
    FFA 0x84000063, 0x10002                 // FFA_VERSION 1.2 (after other calls)
    FFA 0x84000068, 0, 0, 0, 0, 1           // count only
    FFA 0xC4000073, 80, 80, 0, 0, 0, 0, 0   // the FF-A 1.0 descriptor read with the 1.1 layout
    FFA 0x84000077, 0, 0x1000, 0, 0, 0, 0, 0    // MEM_RECLAIM the 1.0 share
    FFA 0x84000068, 0, 0, 0, 0, 0           // 24-byte entries with UUIDs
    SHOW_MEM rx_buf
    FFA 0x84000065
    FFA 0x84000068, 0xffffffff00000000+OPTEE_UUID0, OPTEE_UUID1, OPTEE_UUID2, OPTEE_UUID3, 0
    FFA 0x84000065
    FFA 0x84000068, 1, 2, 3, 4, 0           // a UUID nobody has
    FFA 0x84000065
    FFA 0x84000068, 0, 0, 0, 0, 0x5e000002  // flags: sentinel bits, count flag clear
    FFA 0x84000065
    FFA 0x8400006F, 0x8001, 0, 0, 0, 0, 0, 0        // DIRECT_REQ_32: OPTEE_FFA_GET_API_VERSION
    FFA 0xC400006F, 0x8001, 0, 1                    // DIRECT_REQ_64: GET_OS_VERSION, sentinels x4-x17
    FFA 0x8400006F, 0x8001, 0, 2, 0, 0, 0, 0        // EXCHANGE_CAPABILITIES
    FFA 0x8400006F, 0x8001, 0, 0x77, 0, 0, 0, 0     // an unknown blocking call
    FFA 0x8400006F, 0xdead000000058001, 0x5e00, 0   // source VM 5, garbage x1[63:32], w2 non-zero
    FFA 0x8400006F, 0x8001, 0x80000008, 0x10002     // framework message: FFA_MSG_VERSION_REQ
    FFA 0x8400006F, 0x8001, 0x80000004, 0           // framework message: VM_CREATED
    FFA 0x8400006F, 0x8001, 0, 3, 0x1234, 0, 0, 0   // UNREGISTER_SHM of a cookie nobody has
    FFA 0x8400006F, 0x8001, 0, 5, 64, 0, 0, 0       // ENABLE_ASYNC_NOTIF: bottom half 64
    FFA 0x8400006F, 0x58001, 0, 5, 1, 0, 0, 0       // ... from VM 5
    FFA 0x8400006F, 0x8001, 0, 5, 1, 0, 0, 0        // ... valid
    FFA 0x8400006F, 0x8001, 0, 0x80000000, 0x1234, 0, 0, 0  // YIELDING_CALL_WITH_ARG, no such cookie
    FFA 0x8400006F, 0x8001, 0, 0x80000001, 0, 0, 0, 0       // YIELDING_CALL_RESUME, no thread
    FFA 0x8400006F, 0x8001, 0, 0x80000007, 0, 0, 0, 0       // an unknown yielding call
    FFA 0x8400006F, 0x10001, 0, 0                   // source VM 1, destination 0x0001
    FFA 0x8400006F, 0x8000, 0, 0                    // to the SPMC's own ID
    FFA 0x8400006F, 0x8002, 0, 0                    // to an ID nobody has
    FFA 0x8400006F, 0x7fff, 0, 0                    // to a normal-world ID
    FFA 0x84000067, 0                       // FFA_RXTX_UNMAP
    FFA 0x84000067, 0                       // ... twice
    FFA 0x84000068, 0, 0, 0, 0, 0           // PARTITION_INFO_GET without buffers: BUSY
    FFA 0xC4000066, tx_buf+0x10, rx_buf, 1  // misaligned TX
    FFA 0xC4000066, tx_buf, rx_buf, 0       // zero pages
    FFA 0x84000066, tx_buf, rx_buf, 0xdead000000000001  // SMC32, garbage in x3[63:32]
    FFA 0x84000067, 0
    FFA 0x84000066, 0xdead000000000000+tx_buf, rx_buf, 1  // SMC32, garbage in x1[63:32]
    FFA 0x84000067, 0
    FFA 0xC4000066, 0xdead000000000000+tx_buf, rx_buf, 1  // SMC64, garbage in x1[63:32]
    FFA 0xC4000066, tx_buf, rx_buf, 0xdead000000000001  // SMC64, garbage in x3[63:32]
    FFA 0xC4000066, 0x7ffff000, 0x7fffe000, 1   // top of the first GiB
    FFA 0x84000067, 0
    FFA 0xC4000066, 0x80000000, 0x80001000, 1   // beyond 1 GiB (RAM is 1057 MiB)
    FFA 0x84000067, 0
    FFA 0xC4000066, 0x820ff000, 0x82100000, 1   // RX just past the end of RAM
    FFA 0xC4000066, 0x0e100000, rx_buf, 1   // secure memory (OP-TEE's own image)
    FFA 0xC4000066, 0x100000000, rx_buf, 1  // no memory at all
    FFA 0x84000066, tx_buf, rx_buf, 1       // FFA_RXTX_MAP_32, clean
    FFA 0xC4000066, tx_buf, rx_buf, 1       // mapped already: DENIED
    FFA 0x84000065                          // RX not full: DENIED
    FFA 0x84000067, 0x5e000001              // FFA_RXTX_UNMAP with an ID in w1
    EXIT
    .balign 4096
tx_buf:                                     // an FF-A 1.0 memory transaction descriptor
    .hword 0
    .byte 0x2f, 0
    .word 0
    .quad 0, 0
    .word 0, 1                              // reserved, endpoint count
    .hword 0x8001                           // receiver OP-TEE, read/write
    .byte 2, 0
    .word 48
    .quad 0
    .word 1, 1                              // composite: pages, ranges
    .quad 0
    .quad share_page
    .word 1, 0
    .balign 4096
rx_buf:
    .space 4096
share_page:
    .space 4096
