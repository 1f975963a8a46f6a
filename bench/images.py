"""Benchmark images, generated so that the loop count can vary.

`roundtrip_source(n)`: a complete EL3/EL2/EL1 program for QEMU and ffaemu alike: EL3 sets
SCR_EL3 and drops to EL2, EL2 sets HCR_EL2.TSC and drops to EL1, EL1 writes one UART byte
and makes `n` SMCs; each traps to EL2 (vectored), EL2 forwards it with its own SMC to EL3
(vectored), EL3 answers FFA_SUCCESS and ERETs, EL2 steps over the trapped SMC and ERETs.
Then EL1 exits through semihosting. With n = 0 it measures start-up to the first byte.

`guest_loop_source(n, fid)`: an NS-EL1 guest for the Python models: the pKVM init
hypercall, FFA_VERSION(1.2), then `n` SMCs with `fid`, then PSCI SYSTEM_OFF.
"""
from __future__ import annotations

ROUNDTRIP = """
_start:
    ldr x0, =0x40300000
    mov sp, x0
    ldr x0, =el3_vectors
    msr vbar_el3, x0
    ldr x0, =0x501                  // SCR_EL3: NS | HCE | RW
    msr scr_el3, x0
    ldr x0, =0x40310000
    msr sp_el2, x0
    ldr x0, =el2_start
    msr elr_el3, x0
    mov x0, #0x3c9
    msr spsr_el3, x0
    eret
el2_start:
    ldr x0, =el2_vectors
    msr vbar_el2, x0
    ldr x0, =0x80080000             // HCR_EL2: RW | TSC
    msr hcr_el2, x0
    ldr x0, =0x40320000
    msr sp_el1, x0
    ldr x0, =el1_start
    msr elr_el2, x0
    mov x0, #0x3c5
    msr spsr_el2, x0
    eret
el1_start:
    ldr x1, =0x09000000
    mov w0, #0x2a                   // '*': the first UART byte
    strb w0, [x1]
    ldr x20, ={n}
    cbz x20, 2f
1:  ldr x0, =0x84000069             // FFA_ID_GET
    smc #0
    subs x20, x20, #1
    b.ne 1b
2:  mov x0, #0x18
    ldr x1, =exit_block
    hlt #0xf000

    .balign 0x800
el2_vectors:
    .space 0x400
    smc #0                          // forward to EL3 with the caller's registers
    mrs x18, elr_el2
    add x18, x18, #4                // step over the trapped SMC
    msr elr_el2, x18
    eret

    .balign 0x800
el3_vectors:
    .space 0x400
    ldr x0, =0x84000061             // FFA_SUCCESS
    mov x2, #0
    eret

    .balign 8
exit_block:
    .quad 0x20026, 0
"""

GUEST_LOOP = """
_start:
    ldr x0, =0xC6000001             // pKVM init hypercall (ignored under other EL2 models)
    hvc #0
    ldr x0, =0x84000063             // FFA_VERSION(1.2): negotiates with the proxy
    ldr x1, =0x10002
    smc #0
    ldr x20, ={n}
    cbz x20, 2f
1:  ldr x0, ={fid:#x}
    mov x1, #0
    smc #0
    subs x20, x20, #1
    b.ne 1b
2:  ldr x0, =0x84000008             // PSCI SYSTEM_OFF
    smc #0
    b .
"""

FIRST_INSN_GUEST = """
_start:
    ldr x0, =0x84000008             // PSCI SYSTEM_OFF (the bench stops before this runs)
    smc #0
"""


def roundtrip_source(n: int) -> str:
    return ROUNDTRIP.format(n=n)


def guest_loop_source(n: int, fid: int) -> str:
    return GUEST_LOOP.format(n=n, fid=fid)
