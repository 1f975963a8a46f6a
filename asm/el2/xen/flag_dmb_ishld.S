// Reader-side fix of version-then-flag: DMB ISHLD (smp_rmb) between the flag and the version
// loads (XenNeg+lock+dmb.ld litmus: Never).
.macro PUBLISH_CHECK
    ldr w2, [x20, #NEGOTIATED]
.endm
.macro READ_FLAG
    ldr w0, [x20, #NEGOTIATED]
.endm
.macro READ_GUEST_VERS
    dmb ishld                   // FIX: order the flag load before the version load
    ldr w0, [x20, #GUEST_VERS]
.endm
.include "negotiated_flag.S"
