// mediator.S - an EL2 FF-A mediator fragment implementing Xen's per-VM version
// negotiation (FFA.md), for the interleaving explorer (`ffaemu explore`). Several
// vCPUs of one VM run `vcpu_main` (x0 = vCPU index) at the same time and share the
// page at SHARED. Each does FFA_VERSION(request) and then one other FF-A call, and
// stores the version that call was served with in SERVED[vCPU].
// The including file defines PUBLISH_CHECK (how "published?" is read), and
// OTHER_CALL (the first non-VERSION call: where the version gets published).

.equ SHARED,        0x40200000
.equ GUEST_VERS,    0x00        // published version (write-once)
.equ NEGOTIATED,    0x04        // a separate "negotiated" flag (flag-before-version only)
.equ TMP,           0x08        // guest_vers_tmp, under the lock
.equ LOCK,          0x0c
.equ LIST_ADDS,     0x10        // times the VM was added to the VM list
.equ SERVED,        0x20        // + 4 * vCPU
.equ REQUESTS,      0x40        // + 4 * vCPU: what each vCPU asks for
.equ FFA_1_2,       0x10002

vcpu_main:
    mov x19, x0
    ldr x20, =SHARED
    add x9, x20, #REQUESTS
    ldr w1, [x9, x19, lsl #2]
    bl ffa_version
    bl ffa_other
    add x9, x20, #SERVED
    str w0, [x9, x19, lsl #2]
done:
    b done

// ffa_version: w1 = requested version; w0 = the answer (1.2).
ffa_version:
    mov x22, x30
    PUBLISH_CHECK
    cbnz w2, 1f                 // published: the answer is 1.2 and nothing changes
    bl lock_acquire
    str w1, [x20, #TMP]         // the last request before publication wins
    bl lock_release
1:  ldr w0, =FFA_1_2
    ret x22

// ffa_other: the first other call; w0 = the version it is served with (or -1).
ffa_other:
    mov x22, x30
    OTHER_CALL
    ret x22

lock_acquire:
    add x9, x20, #LOCK
    mov w10, #1
1:  ldaxr w11, [x9]
    cbnz w11, 1b
    stxr w12, w10, [x9]
    cbnz w12, 1b
    ret

lock_release:
    add x9, x20, #LOCK
    stlr wzr, [x9]
    ret

// add_to_list: the VM becomes visible to other VMs.
add_to_list:
    ldr w3, [x20, #LIST_ADDS]
    add w3, w3, #1
    str w3, [x20, #LIST_ADDS]
    ret
