// Bug: a "negotiated" flag published before the version it guards. Another vCPU that
// sees the flag reads the version before it is written and is served with version 0.
.macro PUBLISH_CHECK
    add x9, x20, #NEGOTIATED
    ldar w2, [x9]
.endm
.macro OTHER_CALL
    add x9, x20, #NEGOTIATED
    ldar w0, [x9]
    cbnz w0, 5f                 // negotiated: read the version it guards
    bl lock_acquire
    ldr w0, [x20, #NEGOTIATED]
    cbnz w0, 4f
    ldr w3, [x20, #TMP]
    cbz w3, 7f
    mov w0, #1
    add x9, x20, #NEGOTIATED
    stlr w0, [x9]               // BUG: the flag first ...
    str w3, [x20, #GUEST_VERS]  // ... the version second
    bl add_to_list
4:  bl lock_release
5:  ldr w0, [x20, #GUEST_VERS]
    b 9f
7:  bl lock_release
    mov w0, #-1
9:
.endm
.include "mediator.S"
