// Bug: check-then-publish without the lock. Two vCPUs can both see "not published",
// both publish, and both add the VM to the VM list.
.macro PUBLISH_CHECK
    add x9, x20, #GUEST_VERS
    ldar w2, [x9]
.endm
.macro OTHER_CALL
    add x9, x20, #GUEST_VERS
    ldar w0, [x9]
    cbnz w0, 9f
    ldr w0, [x20, #TMP]
    cbz w0, 7f
    add x9, x20, #GUEST_VERS
    stlr w0, [x9]               // publish, with no lock and no re-check
    mov x23, x0
    bl add_to_list
    mov x0, x23
    b 9f
7:  mov w0, #-1
9:
.endm
.include "mediator.S"
