// Xen per-VM negotiation done right: one write-once version, published under the lock
// after a re-check, read with acquire semantics.
.macro PUBLISH_CHECK
    add x9, x20, #GUEST_VERS
    ldar w2, [x9]
.endm
.macro OTHER_CALL
    add x9, x20, #GUEST_VERS
    ldar w0, [x9]
    cbnz w0, 9f                 // published: serve with it
    bl lock_acquire
    ldr w0, [x20, #GUEST_VERS]  // re-check under the lock
    cbnz w0, 8f
    ldr w0, [x20, #TMP]
    cbz w0, 7f                  // no FFA_VERSION yet: NOT_SUPPORTED
    add x9, x20, #GUEST_VERS
    stlr w0, [x9]               // publish once
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
