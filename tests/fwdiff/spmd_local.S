// Calls the TF-A SPMD (or TF-A alone) answers without a secure partition: SMCCC/PSCI
// versions, ID and SPM ID queries, NS-forbidden calls, unknown FF-A IDs and IDs above
// the FF-A range, source-ID checks of direct requests, and FFA_VERSION in all its forms.
// Safe on every image (nothing here reaches an SPMC). Prints x0-x17 after every call.
_start:
    b main
.include "../../asm/lib/regdump.S"
main:
    mov x24, #0
    FFA 0x84000000                          // PSCI_VERSION
    FFA 0x80000000                          // SMCCC_VERSION
    FFA 0x80000001, 0x80000000              // SMCCC_ARCH_FEATURES(SMCCC_VERSION)
    FFA 0x80000001, 0x80008000              // ... WORKAROUND_1
    FFA 0x80000001, 0x80007fff              // ... WORKAROUND_2
    FFA 0x80000001, 0x80003fff              // ... WORKAROUND_3
    FFA 0x80000001, 0xdead000080000002      // ... SOC_ID, garbage in x1[63:32]
    FFA 0x80000002, 0                       // SMCCC_ARCH_SOC_ID
    FFA 0x8400000A, 0x84000000              // PSCI_FEATURES(PSCI_VERSION)
    FFA 0x8400000A, 0xC4000003              // PSCI_FEATURES(CPU_ON_64)
    FFA 0x8400000A, 0xC4000002              // PSCI_FEATURES(CPU_OFF in an SMC64 form)
    FFA 0x8400000A, 0x84000063              // PSCI_FEATURES(FFA_VERSION): not PSCI
    FFA 0x84000006                          // PSCI MIGRATE_INFO_TYPE: not in the capabilities
    FFA 0xC4000004, 0, 0                    // PSCI AFFINITY_INFO_64(CPU 0, level 0): ON
    FFA 0x8400000B                          // an unassigned PSCI function number
    FFA 0xC4000000                          // PSCI_VERSION in an SMC64 form
    FFA 0x8400FF00                          // standard service call count
    FFA 0x8400FF01                          // standard service UID
    FFA 0x8400FF03                          // standard service revision
    FFA 0xdeadbeef84000069                  // FFA_ID_GET, garbage in x0[63:32]
    FFA 0x84000069                          // FFA_ID_GET, before FFA_VERSION
    FFA 0x84020069                          // FID bit 17 set (fast-call bits [23:17] MBZ)
    FFA 0x84010069                          // FID bit 16 set: the SMCCC v1.3 SVE hint
    FFA 0x04000069                          // bit 31 clear: a yielding call
    FFA 0x84000085                          // FFA_SPM_ID_GET
    FFA 0xC400008D, 0x8001                  // FFA_MSG_SEND_DIRECT_REQ2 before FFA_VERSION
    FFA 0xC400008E, 0x80010000              // FFA_MSG_SEND_DIRECT_RESP2 from the normal world
    FFA 0x8400006B                          // FFA_MSG_WAIT: secure world only
    FFA 0x8400006C                          // FFA_MSG_YIELD: secure world only
    FFA 0x84000062                          // FFA_INTERRUPT: secure world only
    FFA 0x8400007C                          // FFA_NORMAL_WORLD_RESUME
    FFA 0x8400008A, 2                       // FFA_CONSOLE_LOG_32: never forwarded
    FFA 0xC400008A, 2                       // FFA_CONSOLE_LOG_64
    FFA 0x8400008C                          // FFA_EL3_INTR_HANDLE from the normal world
    FFA 0x84000090                          // FFA_ABORT_32 from the normal world
    FFA 0xC4000090                          // FFA_ABORT_64
    FFA 0xC4000087, 0x40100000              // FFA_SECONDARY_EP_REGISTER_64 from the normal world
    FFA 0xC400006F, 0x80018001, 0           // DIRECT_REQ_64, secure source ID: refused by the SPMD
    FFA 0x8400006F, 0xdead000080028001, 0   // DIRECT_REQ_32, secure source, garbage in x1[63:32]
    FFA 0x84000078                          // unknown FF-A function numbers in the range
    FFA 0x84000079
    FFA 0x8400008B                          // PARTITION_INFO_GET_REGS in its SMC32 form (undefined)
    FFA 0xC4000063, 0x10002                 // FFA_VERSION in an SMC64 form (undefined)
    FFA 0xC4000069                          // FFA_ID_GET in an SMC64 form (undefined)
    FFA 0x84000091                          // above the FF-A range (0x60-0x90)
    FFA 0xC4000091
    FFA 0x840000FF
    FFA 0x84000063, 0x80010002              // FFA_VERSION: bit 31 set (MBZ)
    FFA 0x84000063, 0xdeadbeef00010002      // FFA_VERSION 1.2, garbage in x1[63:32]
    FFA 0x84000063, 0x20000                 // FFA_VERSION 2.0
    FFA 0x84000063, 0x10001                 // FFA_VERSION 1.1
    FFA 0x84000063, 0x10000                 // FFA_VERSION 1.0
    FFA 0x84000063, 0x10005                 // FFA_VERSION 1.5: above every implementation
    FFA 0x84000063, 0x1ffff                 // FFA_VERSION 1.65535
    FFA 0x84000063, 0x10002                 // FFA_VERSION 1.2 again
    FFA 0x84000069                          // FFA_ID_GET after FFA_VERSION
    FFA 0xC400008D, 0x8001                  // FFA_MSG_SEND_DIRECT_REQ2 after FFA_VERSION
    FFA 0x84000085                          // FFA_SPM_ID_GET after FFA_VERSION
    EXIT
