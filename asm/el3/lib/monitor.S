// monitor.S - a minimal EL3 monitor (ffaemu `--el3 FILE`): the harness's EL3 boot stub
// installs `el3_vectors`. SMCs from lower ELs: FFA_VERSION -> NOT_SUPPORTED encoded by
// the including file's macro NS_ANSWER; PSCI SYSTEM_OFF -> semihosting exit(0); any other
// function -> -1 (SMCCC "unknown function", sign-extended like TF-A).

.equ FFA_VERSION,      0x84000063
.equ PSCI_SYSTEM_OFF,  0x84000008
.equ SYS_EXIT,         0x18

el3_sync_lower:
    msr tpidr_el3, x16           // x16 is the scratch: an SMC32 caller's x8-x30 must be
    ldr x16, =FFA_VERSION        // preserved (DEN0028C §2.6), so it is restored below
    cmp w0, w16                  // w0: only the low 32 bits name the function
    b.eq ffa_version
    ldr x16, =PSCI_SYSTEM_OFF
    cmp w0, w16
    b.eq system_off
    mov x0, #-1
    mrs x16, tpidr_el3
    eret
ffa_version:
    NS_ANSWER
    mov x1, #0                   // FFA_VERSION: w1-w7 must be zero
    mov x2, #0
    mov x3, #0
    mrs x16, tpidr_el3
    eret
system_off:
    mov x0, #SYS_EXIT
    ldr x1, =exit_block
    hlt #0xf000

    .balign 0x800
el3_vectors:
    .space 0x400
    b el3_sync_lower             // +0x400: lower EL, AArch64, synchronous
    .space 0x3fc

    .balign 8
exit_block:
    .quad 0x20026, 0
