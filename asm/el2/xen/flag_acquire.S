// Reader-side fix of version-then-flag: the flag is read with LDAR (smp_load_acquire), so
// the version load after it cannot be satisfied first (XenNeg+lock+acq litmus: Never).
.macro PUBLISH_CHECK
    add x9, x20, #NEGOTIATED
    ldar w2, [x9]
.endm
.macro READ_FLAG
    add x9, x20, #NEGOTIATED
    ldar w0, [x9]               // FIX: acquire
.endm
.macro READ_GUEST_VERS
    ldr w0, [x20, #GUEST_VERS]
.endm
.include "negotiated_flag.S"
