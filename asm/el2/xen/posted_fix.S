// The fix posted on xen-devel (v1 and v2): no flag; guest_vers is written once, under the lock,
// with a plain store (WRITE_ONCE, no smp_wmb), and read with one plain load (ACCESS_ONCE): a
// vCPU either sees 0 (not negotiated) or the one version there will ever be (XenVers+CoRR).
.macro PUBLISH_CHECK
    ldr w2, [x20, #GUEST_VERS]
.endm
.macro OTHER_CALL
    ldr w0, [x20, #GUEST_VERS]  // one load: the version, or 0
    cbnz w0, 9f
    bl lock_acquire
    ldr w0, [x20, #GUEST_VERS]  // re-check under the lock
    cbnz w0, 8f
    ldr w0, [x20, #TMP]
    cbz w0, 7f
    str w0, [x20, #GUEST_VERS]  // publish once
    mov x23, x0
    bl add_to_list
    mov x0, x23
8:  mov x23, x0
    bl lock_release
    mov x0, x23
    b 9f
7:  bl lock_release
    mov w0, #-1
9:
.endm
.include "mediator.S"
