// FFA_MEM_SHARE / FFA_MEM_LEND / FFA_MEM_RECLAIM / FFA_MEM_FRAG_TX after FFA_VERSION(1.2):
// handles and their w2/w3 split, handle reuse, MBZ registers (x5-x7 in full), fragment and
// total lengths, descriptors in the TX buffer or in a buffer given by address, and bad
// descriptors: attributes, permissions, receiver, range address, secure memory. Then the
// notification ABIs.
_start:
    b main
.include "../../asm/lib/regdump.S"
.equ LEN, 96
// DESC attr, receiver, perm, address: an FF-A 1.1+ memory transaction descriptor, one
// receiver, one range of one page (header 48, access descriptor 16, composite 16, range 16).
.macro DESC attr, receiver, perm, address
    .hword 0, \attr
    .word 0
    .quad 0, 0
    .word 16, 1, 48
    .space 12
    .hword \receiver
    .byte \perm, 0
    .word 64
    .quad 0
    .word 1, 1
    .quad 0
    .quad \address
    .word 1, 0
.endm
main:
    mov x24, #0
    FFA 0x84000063, 0x10002
    FFA 0xC4000066, tx_buf, rx_buf, 1
    FFA 0xC4000073, LEN, LEN, 0, 0, 0, 0, 0         // MEM_SHARE_64 through TX: handle 0
    FFA 0x84000073, LEN, LEN, 0, 0, 0, 0, 0         // MEM_SHARE_32: handle 1
    FFA 0x84000077, 0, 0x1000, 0, 0, 0, 0, 0        // MEM_RECLAIM handle 0
    FFA 0x84000077, 0, 0x1000, 0, 0, 0, 0, 0        // ... again
    FFA 0xC4000073, LEN, LEN, 0, 0, 0, 0, 0         // handle 0 is free again
    FFA 0x84000077, 0, 0x1000, 0, 0, 0x5e00000000000000, 0, 0   // x5[63:32] non-zero
    FFA 0x84000077, 0xdead000000000001, 0x1000, 0, 0, 0, 0, 0   // garbage in x1[63:32]
    FFA 0xC4000073, LEN, LEN, 0, 0                  // sentinels in x5-x7
    FFA 0xC4000073, LEN, 48, 0, 0, 0, 0, 0          // fragment shorter than the total
    FFA 0xC4000073, 48, LEN, 0, 0, 0, 0, 0          // fragment longer than the total
    FFA 0xC4000073, 8192, 8192, 0, 0, 0, 0, 0       // longer than the TX buffer
    FFA 0xC4000073, LEN, LEN, 0, 1, 0, 0, 0         // page count without an address
    FFA 0xC4000073, LEN, LEN, desc_tmem, 1, 0, 0, 0 // descriptor in a buffer of its own
    FFA 0x84000073, LEN, LEN, 0xdead000000000000+desc_tmem, 1, 0, 0, 0  // SMC32, x3[63:32]
    FFA 0xC4000073, LEN, LEN, desc_tmem+8, 1, 0, 0, 0   // buffer address not page-aligned
    FFA 0xC4000073, LEN, LEN, 0x0e100000, 1, 0, 0, 0    // buffer in secure memory
    FFA 0xC4000072, LEN, LEN, desc_lend, 1, 0, 0, 0 // MEM_LEND_64, attributes 0
    FFA 0x84000072, LEN, LEN, 0, 0, 0, 0, 0         // MEM_LEND_32 of TX (attributes 0x2f)
    FFA 0xC4000073, LEN, LEN, desc_perm, 1, 0, 0, 0 // permissions RW + XN (0x6)
    FFA 0xC4000073, LEN, LEN, desc_recv, 1, 0, 0, 0 // receiver 0x8005
    FFA 0xC4000073, LEN, LEN, desc_nspmc, 1, 0, 0, 0    // receiver: the SPMC 0x8000
    FFA 0xC4000073, LEN, LEN, desc_misal, 1, 0, 0, 0    // range address not page-aligned
    FFA 0xC4000073, LEN, LEN, desc_sec, 1, 0, 0, 0  // range in secure memory
    FFA 0x8400007B, 0, 0x1000, LEN, 0, 0, 0, 0      // MEM_FRAG_TX, no open transaction
    FFA 0x84000077, 1, 0x1000, 0, 0, 0, 0, 0        // reclaim handles 1, 0, 2, 3, 4
    FFA 0x84000077, 0, 0x1000, 0, 0, 0, 0, 0
    FFA 0x84000077, 2, 0x1000, 0, 0, 0, 0, 0
    FFA 0x84000077, 3, 0x1000, 0, 0, 0, 0, 0
    FFA 0x84000077, 4, 0x1000, 0, 0, 0, 0, 0
    FFA 0x84000077, 0, 0, 0, 0, 0, 0, 0             // handle 0 without the non-secure bit
// Notifications (no NS-virtualization: one bitmap, VM 0): BITMAP_CREATE/DESTROY, BIND/UNBIND,
// GET, INFO_GET (SMC32 and SMC64), MBZ and ID checks, OP-TEE's ENABLE_ASYNC_NOTIF.
    FFA 0x84000083, 0, 0, 0, 0, 0, 0, 0     // INFO_GET_32: nothing pending
    FFA 0x8400007D, 0, 0, 0, 0, 0, 0, 0     // BITMAP_CREATE VM 0
    FFA 0x8400007D, 0, 0, 0, 0, 0, 0, 0     // ... again
    FFA 0x8400007D, 0x10000, 0, 0, 0, 0, 0, 0   // an SP ID in w1[31:16]
    FFA 0x8400007D, 5, 0, 0, 0, 0, 0, 0     // VM 5
    FFA 0x8400007D, 0                       // sentinels in x3-x7
    FFA 0x8400007F, 0, 0, 3, 0, 0, 0, 0     // BIND bits 0-1 to VM 0
    FFA 0x8400007F, 0, 0, 1, 0, 0, 0, 0     // ... bit 0 again
    FFA 0x8400007F, 0, 1, 4, 0, 0, 0, 0     // per-vCPU flag
    FFA 0x8400007F, 5, 0, 4, 0, 0, 0, 0     // VM 5
    FFA 0x84000082, 0, 1, 0, 0, 0, 0, 0     // GET with the SP flag: nothing pending
    FFA 0x84000082, 0, 0, 0, 0, 0, 0, 0     // GET without flags
    FFA 0x84000082, 0, 1, 0, 0              // sentinels in x5-x7
    FFA 0x84000080, 0, 0, 1, 0, 0, 0, 0     // UNBIND bit 0
    FFA 0x84000080, 0, 1, 1, 0, 0, 0, 0     // UNBIND with flags
    FFA 0x8400006F, 0x8001, 0, 5, 1, 0, 0, 0    // ENABLE_ASYNC_NOTIF, bottom half 1
    FFA 0x84000083, 0, 0, 0, 0, 0, 0, 0     // INFO_GET_32
    FFA 0xC4000083, 0, 0, 0, 0, 0, 0, 0     // INFO_GET_64
    FFA 0x84000082, 0, 1, 0, 0, 0, 0, 0     // GET with the SP flag
    FFA 0x84000082, 0, 1, 0, 0, 0, 0, 0     // ... again
    FFA 0x8400007E, 0, 0, 0, 0, 0, 0, 0     // BITMAP_DESTROY while bit 1 is bound
    FFA 0x84000080, 0, 0, 2, 0, 0, 0, 0     // UNBIND bit 1
    FFA 0x8400007E, 0, 0, 0, 0, 0, 0, 0     // BITMAP_DESTROY
    FFA 0x8400007E, 0, 0, 0, 0, 0, 0, 0     // ... again
    FFA 0x84000081, 0, 0, 1, 0              // NOTIFICATION_SET from the normal world
    EXIT
    .balign 4096
tx_buf:
    DESC 0x2f, 0x8001, 2, share_page
    .balign 4096
rx_buf:
    .space 4096
share_page:
    .space 4096
desc_tmem:
    DESC 0x2f, 0x8001, 2, share_page
    .balign 4096
desc_lend:
    DESC 0, 0x8001, 2, share_page
    .balign 4096
desc_perm:
    DESC 0x2f, 0x8001, 6, share_page
    .balign 4096
desc_recv:
    DESC 0x2f, 0x8005, 2, share_page
    .balign 4096
desc_nspmc:
    DESC 0x2f, 0x8000, 2, share_page
    .balign 4096
desc_misal:
    DESC 0x2f, 0x8001, 2, share_page+0x10
    .balign 4096
desc_sec:
    DESC 0x2f, 0x8001, 2, 0x0e100000
    .balign 4096
