// pkvm_proxy.S - a minimal pKVM-like EL2 FF-A proxy, for instruction-level evidence of
// bug 1. The including file defines the macro VERSION_CHECK (the compare under test)
// and then includes this file. Protocol (ffaemu `--el2 FILE`): entered at EL2h with
// x0 = the guest's entry; boots the guest at EL1h with HCR_EL2 = RW (no TSC yet).
// The guest's init hypercall (hvc #0, x0 = 0xC6000001) runs `pkvm_init`:
//   FFA_VERSION(1.2) to EL3, VERSION_CHECK on the answer, then either
//   "no FF-A" or FF-A 1.x (set TSC, x0 = 0) or refuse (x0 = -95, EOPNOTSUPP).
// Trapped SMCs are forwarded to EL3 with their registers untouched.

.equ FFA_VERSION,      0x84000063
.equ FFA_VERSION_1_2,  0x10002
.equ PKVM_INIT_FID,    0xC6000001
.equ HCR_RW,           0x80000000
.equ HCR_RW_TSC,       0x80080000
.equ EC_HVC64,         0x16
.equ EC_SMC64,         0x17
.equ EOPNOTSUPP,       95

el2_entry:
    b el2_boot
.include "../../lib/uart.S"
el2_boot:
    ldr x1, =el2_stack_top
    mov sp, x1
    ldr x1, =el2_vectors
    msr vbar_el2, x1
    ldr x1, =HCR_RW
    msr hcr_el2, x1
    msr elr_el2, x0              // the guest's entry
    mov x1, #0x3c5               // EL1h, DAIF masked
    msr spsr_el2, x1
    PUTS "pkvm(asm): booting the host at EL1\n"
    mov x0, #0
    mov x1, #0
    eret

// pkvm_init: x0 = 0 (initialised) or -EOPNOTSUPP. Clobbers x0-x7 (a hypercall).
pkvm_init:
    stp x29, x30, [sp, #-16]!
    ldr x0, =FFA_VERSION
    ldr x1, =FFA_VERSION_1_2
    mov x2, #0
    mov x3, #0
    smc #0
version_check:
    VERSION_CHECK                // bug: cmn x0, #1 / fix: cmn w0, #1
    b.eq no_ffa
    ubfx x1, x0, #16, #15        // major, bits [30:16]
    cmp x1, #1
    b.ne refuse
    PUTS "pkvm(asm): FF-A available, proxy up\n"
    b set_tsc
no_ffa:
    PUTS "pkvm(asm): no FF-A in firmware, continuing without the proxy\n"
set_tsc:
    ldr x0, =HCR_RW_TSC
    msr hcr_el2, x0
    mov x0, #0
    ldp x29, x30, [sp], #16
    ret
refuse:
    mov x19, x0
    PUTS "pkvm(asm): refusing to initialise, FFA_VERSION gave x0="
    mov x0, x19
    bl puthex
    mov w0, #0x0a
    bl putc
    mov x0, #-EOPNOTSUPP
    ldp x29, x30, [sp], #16
    ret

// Lower-EL synchronous exceptions: the init hypercall, or an SMC trapped by TSC.
el2_sync_lower:
    str x18, [sp, #-16]!
    mrs x18, esr_el2
    lsr x18, x18, #26
    cmp x18, #EC_SMC64
    b.eq forward_smc
    cmp x18, #EC_HVC64
    b.ne unexpected
    ldr x18, =PKVM_INIT_FID
    cmp x0, x18
    b.ne unknown_hvc
    stp x19, x30, [sp, #-16]!
    bl pkvm_init
    ldp x19, x30, [sp], #16
    ldr x18, [sp], #16
    eret
unknown_hvc:
    mov x0, #-1                  // SMCCC_RET_NOT_SUPPORTED
    ldr x18, [sp], #16
    eret
forward_smc:
    smc #0                       // EL2 -> EL3 with the guest's registers as they are
    mrs x18, elr_el2
    add x18, x18, #4             // ELR_EL2 is the trapped SMC itself: step over it
    msr elr_el2, x18
    ldr x18, [sp], #16
    eret
unexpected:
    PUTS "pkvm(asm): unexpected exception\n"
    b .

    .balign 0x800
el2_vectors:
    .space 0x400
    b el2_sync_lower             // +0x400: lower EL, AArch64, synchronous
    .space 0x3fc

    .balign 16
    .space 0x1000
el2_stack_top:
