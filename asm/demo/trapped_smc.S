// Demo: boot EL3 -> EL2 -> EL1 with real instructions, then make an SMC at NS-EL1
// that HCR_EL2.TSC traps to EL2; EL2 forwards it to EL3 with its own SMC and
// returns. Every vector entry prints ESR/ELR/SPSR/SP/DAIF; `--trace` adds ffaemu's
// account of each exception. Run: ffaemu run asm/demo/trapped_smc.S --trace
.include "../lib/diag.S"

test_main:
    PUTS "EL3: SCR_EL3 = NS|HCE|RW, dropping to EL2\n"
    ldr x0, =forward_smc         // EL2's handler forwards trapped SMCs to EL3
    mov w1, #1
    str w1, [x0]
    ldr x0, =0x501               // SCR_EL3: NS | HCE | RW
    msr scr_el3, x0
    ERET_FROM 3, el2_entry, 0x3c9
el2_entry:
    PUTS "EL2: HCR_EL2 = RW|TSC, dropping to EL1\n"
    ldr x0, =0x80080000          // HCR_EL2: RW | TSC
    msr hcr_el2, x0
    ERET_FROM 2, el1_entry, 0x3c5
el1_entry:
    PUTS "EL1: smc #0 (FFA_VERSION 1.2) - trapped by HCR_EL2.TSC\n"
    ldr x0, =0x84000063
    ldr x1, =0x10002
    smc #0
    bl report
    PUTS "EL1: hvc #0x42 - to EL2\n"
    hvc #0x42
    bl report
    PUTS "EL1: done\n"
    EXIT
