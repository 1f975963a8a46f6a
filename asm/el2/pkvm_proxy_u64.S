// pKVM-like EL2 proxy with bug 1: FFA_VERSION's SMC32 answer compared as a 64-bit
// value with -1. A zero-extended NOT_SUPPORTED (x0 = 0x00000000ffffffff) does not
// match, the major reads as 0x7fff, and pKVM refuses to initialise.
.macro VERSION_CHECK
    cmn x0, #1
.endm
.include "lib/pkvm_proxy.S"
