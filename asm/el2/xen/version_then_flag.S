// The race discussed on xen-devel (Dec 2025), as Xen writes it: the version is published and
// then, under the same lock, the "negotiated" flag; a vCPU that sees the flag (plain load) then
// reads the version (plain load). Program order is right, so under sequential consistency (and
// under FIFO store buffers) it never fails; on ARMv8 the reader's two loads may be satisfied
// out of order and it is served with the stale version 0 (XenNeg+MP / XenNeg+lock+po litmus).
.macro PUBLISH_CHECK
    ldr w2, [x20, #NEGOTIATED]  // plain load of the flag
.endm
.macro READ_GUEST_VERS
    ldr w0, [x20, #GUEST_VERS]  // BUG: plain load, may be satisfied before the flag's
.endm
.macro READ_FLAG
    ldr w0, [x20, #NEGOTIATED]
.endm
.include "negotiated_flag.S"
