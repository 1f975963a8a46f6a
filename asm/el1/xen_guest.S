// A guest for Xen's FF-A mediator, run as several VMs with several vCPUs each
// (`--el2 xen --vms N --vcpus M`). Entered at EL1h with x0 = vCPU, x1 = VM. Each
// (VM, vCPU) runs a script of FF-A calls from `scripts` (one step per Xen schedule
// point), prints "vmV.C NAME w0=.. w2=..", and ends with PSCI CPU_OFF (hvc #0).
// Slots without a script run `default_script`.

.equ OP_END,        0
.equ OP_VERSION,    1
.equ OP_ID_GET,     2
.equ OP_PART_COUNT, 3
.equ OP_DIRECT_REQ, 4
.equ MAX_SLOTS,     4
.equ STACK_SIZE,    0x400

_start:
    b main
.include "../lib/uart.S"
.include "../lib/ffa_abi.S"

main:
    mov x27, x0                  // vCPU
    mov x26, x1                  // VM
    ldr x2, =stacks_top
    lsl x3, x27, #10             // STACK_SIZE per vCPU
    sub sp, x2, x3
    adr x25, default_script
    cmp x26, #MAX_SLOTS
    b.hs next_step
    cmp x27, #MAX_SLOTS
    b.hs next_step
    ldr x2, =scripts
    add x3, x27, x26, lsl #2     // slot = vm * 4 + vcpu
    ldr x4, [x2, x3, lsl #3]
    cbz x4, next_step
    mov x25, x4

next_step:
    ldp w23, w24, [x25], #8      // op, argument
    cmp w23, #OP_VERSION
    b.eq do_version
    cmp w23, #OP_ID_GET
    b.eq do_id_get
    cmp w23, #OP_PART_COUNT
    b.eq do_part_count
    cmp w23, #OP_DIRECT_REQ
    b.eq do_direct_req
    ldr x0, =PSCI_CPU_OFF        // OP_END
    hvc #0
1:  b 1b

do_version:
    ldr x0, =FFA_VERSION
    mov w1, w24
    smc #0
    SAVE_RESULT
    bl prefix
    PRINT_RESULT "FFA_VERSION"
    b next_step
do_id_get:
    ldr x0, =FFA_ID_GET
    smc #0
    SAVE_RESULT
    bl prefix
    PRINT_RESULT "FFA_ID_GET"
    b next_step
do_part_count:
    ldr x0, =FFA_PARTITION_INFO_GET
    mov x1, #0
    mov x2, #0
    mov x3, #0
    mov x4, #0
    mov x5, #1                   // flags bit 0: return the count only
    smc #0
    SAVE_RESULT
    bl prefix
    PRINT_RESULT "FFA_PARTITION_INFO_GET"
    b next_step
do_direct_req:
    ldr x0, =FFA_DIRECT_REQ
    add x1, x26, #1              // sender: this VM's FF-A ID (Xen: domain ID + 1)
    lsl x1, x1, #16
    ldr x2, =ECHO_PARTITION
    orr x1, x1, x2
    mov x2, #0
    add x3, x27, x26, lsl #8     // payload: VM << 8 | vCPU
    smc #0
    SAVE_RESULT
    bl prefix
    PRINT_RESULT "FFA_MSG_SEND_DIRECT_REQ"
    b next_step

// prefix: print "vmV.C " (single digits).
prefix:
    stp x29, x30, [sp, #-16]!
    PUTS "vm"
    add w0, w26, #0x30
    bl putc
    mov w0, #0x2e
    bl putc
    add w0, w27, #0x30
    bl putc
    mov w0, #0x20
    bl putc
    ldp x29, x30, [sp], #16
    ret

    .balign 8
// Scripts: (op, argument) words. Round robin runs vm0.0, vm0.1, vm1.0, vm1.1, ...
// one step each, so step k of every script happens in round k.
vm0_vcpu0:
    .word OP_VERSION, 0x10001    // 1.1
    .word OP_VERSION, 0x10001    // repeated before any other ABI: allowed
    .word OP_VERSION, 0x10000    // 1.0 after publication: answers 1.2, no change
    .word OP_PART_COUNT, 0       // VM1 is published by now: listed
    .word OP_END, 0
vm0_vcpu1:
    .word OP_VERSION, 0x20000    // other major: tmp := 1.2
    .word OP_ID_GET, 0           // first other ABI: publishes VM0's version
    .word OP_PART_COUNT, 0       // VM1 not yet published: not listed
    .word OP_DIRECT_REQ, 0
    .word OP_END, 0
vm1_vcpu0:
    .word OP_ID_GET, 0           // before any FFA_VERSION: refused, nothing published
    .word OP_VERSION, 0x10002    // 1.2
    .word OP_ID_GET, 0           // publishes VM1's version
    .word OP_PART_COUNT, 0
    .word OP_END, 0
vm1_vcpu1:
    .word OP_PART_COUNT, 0       // before any FFA_VERSION: refused
    .word OP_VERSION, 0x10001    // 1.1 (the last request before publication wins)
    .word OP_VERSION, 0x10000    // after publication: answers 1.2, no change
    .word OP_PART_COUNT, 0
    .word OP_END, 0
default_script:
    .word OP_VERSION, 0x10002
    .word OP_ID_GET, 0
    .word OP_PART_COUNT, 0
    .word OP_END, 0

    .balign 8
scripts:                         // [vm * 4 + vcpu]
    .quad vm0_vcpu0, vm0_vcpu1, 0, 0
    .quad vm1_vcpu0, vm1_vcpu1, 0, 0
    .quad 0, 0, 0, 0
    .quad 0, 0, 0, 0

    .balign 16
    .space 0x2000                // 8 vCPUs x STACK_SIZE
stacks_top:
