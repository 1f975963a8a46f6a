// EL3 monitor answering FFA_VERSION with NOT_SUPPORTED zero-extended, as TF-A's SPMD
// does: `mov w0, #-1` leaves x0 = 0x00000000ffffffff (a W write zeroes bits [63:32]).
.macro NS_ANSWER
    mov w0, #-1
.endm
.include "lib/monitor.S"
