// negotiated_flag.S - Xen's negotiation with a separate guest_vers_negotiated flag (xen-devel,
// Dec 2025). guest_vers and the flag are written in two critical sections of one lock (in Xen,
// FFA_VERSION sets guest_vers and a later call, maybe on another CPU, sets the flag): the lock
// release between them orders the two writes, so the writer side is right. Every call that sees
// the flag then uses guest_vers. The including file defines PUBLISH_CHECK, READ_FLAG and
// READ_GUEST_VERS (how the reader side loads them).
.macro OTHER_CALL
    READ_FLAG
    cbnz w0, 5f                 // negotiated: use the version it guards
    bl lock_acquire
    ldr w0, [x20, #NEGOTIATED]  // re-check under the lock
    cbnz w0, 4f
    ldr w3, [x20, #TMP]
    cbz w3, 7f                  // no FFA_VERSION yet: NOT_SUPPORTED
    str w3, [x20, #GUEST_VERS]  // guest_vers, under the lock ...
    bl lock_release
    bl lock_acquire             // ... and, in a later critical section, the flag
    ldr w0, [x20, #NEGOTIATED]
    cbnz w0, 4f                 // another vCPU set it in between
    mov w0, #1
    str w0, [x20, #NEGOTIATED]
    bl add_to_list
4:  bl lock_release
5:  READ_GUEST_VERS
    b 9f
7:  bl lock_release
    mov w0, #-1
9:
.endm
.include "mediator.S"
