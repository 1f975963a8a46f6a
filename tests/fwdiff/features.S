// FFA_FEATURES after FFA_VERSION(1.2): every FF-A function the models know, SMC32 and
// SMC64 forms, feature IDs, unknown and out-of-range IDs, garbage in x1[63:32], input
// properties in w2. Then FFA_MSG_SEND_DIRECT_REQ2 and FFA_PARTITION_INFO_GET_REGS once
// 1.2 is negotiated. Forwards to the SPMC: not for the SPMD without one.
_start:
    b main
.include "../../asm/lib/regdump.S"
main:
    mov x24, #0
    FFA 0x84000063, 0x10002                 // FFA_VERSION 1.2 first: the SPMD records it
    .irp id, 0x84000060, 0x84000061, 0xC4000061, 0x84000062, 0x84000063, 0x84000064, 0x84000065, 0x84000066, 0xC4000066, 0x84000067, 0x84000068, 0x84000069, 0x8400006B, 0x8400006F, 0xC400006F, 0x84000070, 0x84000071, 0xC4000071, 0x84000072, 0xC4000072, 0x84000073, 0xC4000073, 0x84000074, 0x84000077, 0x8400007B, 0x8400007D, 0x84000081, 0xC4000083, 0x84000085, 0xC400008B, 0xC400008D, 0x84000090, 0x84000091, 1, 2, 3, 0, 0xff
    FFA 0x84000064, \id, 0
    .endr
    FFA 0x84000064, 0xffffffff84000066, 0   // garbage in x1[63:32]
    FFA 0x84000064, 0x84000066              // sentinel (non-zero) in w2 and x3-x7
    FFA 0x84000064, 0x84000074, 2           // MEM_RETRIEVE_REQ with input property NS bit
    FFA 0xC4000064, 0x84000066, 0           // FFA_FEATURES in an SMC64 form
    FFA 0xC400008D, 0x8001, 0, 0            // FFA_MSG_SEND_DIRECT_REQ2 to OP-TEE
    FFA 0xC400008B, 0, 0, 0                 // FFA_PARTITION_INFO_GET_REGS, nil UUID
    FFA 0xC400006F, 0x8001, 0, 1            // DIRECT_REQ_64 at 1.2: x8-x17 from the SPMC
    FFA 0x8400006F, 0x8001, 0, 0, 0, 0, 0x5e00000000000000, 0  // DIRECT_REQ_32, garbage x6
    FFA 0x84000060, 0, 0xfffffffe            // FFA_ERROR from the normal world
    FFA 0x84000061                          // FFA_SUCCESS from the normal world
    FFA 0x8400006D, 0x8001                  // FFA_RUN
    FFA 0xC4000071, 0x30, 0x30, 0, 0, 0, 0, 0  // FFA_MEM_DONATE_64
    FFA 0x84000074, 0x30, 0x30, 0, 0, 0, 0, 0  // FFA_MEM_RETRIEVE_REQ from the normal world
    FFA 0x84000069                          // FFA_ID_GET
    EXIT
