// ffa_abi.S - FF-A / SMCCC constants and the REPORT macro for EL1 guests.
// Needs uart.S (PUTS, puthex32, putc).

.equ FFA_ERROR,               0x84000060
.equ FFA_SUCCESS,             0x84000061
.equ FFA_VERSION,             0x84000063
.equ FFA_FEATURES,            0x84000064
.equ FFA_RX_RELEASE,          0x84000065
.equ FFA_RXTX_MAP_64,         0xC4000066
.equ FFA_PARTITION_INFO_GET,  0x84000068
.equ FFA_ID_GET,              0x84000069
.equ FFA_DIRECT_REQ_64,       0xC400006F
.equ FFA_MEM_SHARE_64,        0xC4000073
.equ FFA_MEM_RECLAIM,         0x84000077
.equ FFA_VERSION_1_2,         0x10002
.equ PKVM_INIT_FID,           0xC6000001
.equ PSCI_SYSTEM_OFF,         0x84000008
.equ ECHO_PARTITION,          0x8001
.equ DESC_LEN,                96

// REPORT name: print the W views of x0 and x2 after a call; keeps x0-x3 in x19-x22.
.macro REPORT name
    SAVE_RESULT
    PRINT_RESULT "\name"
.endm

// SAVE_RESULT: x0-x3 -> x19-x22, before anything that prints.
.macro SAVE_RESULT
    mov x19, x0
    mov x20, x1
    mov x21, x2
    mov x22, x3
.endm

// PRINT_RESULT name: "name w0=XXXXXXXX w2=XXXXXXXX" from x19/x21.
.macro PRINT_RESULT name
    PUTS "\name w0="
    mov w0, w19
    bl puthex32
    PUTS " w2="
    mov w0, w21
    bl puthex32
    mov w0, #0x0a
    bl putc
.endm

.equ FFA_DIRECT_REQ,          0x8400006F
.equ PSCI_CPU_OFF,            0x84000002
