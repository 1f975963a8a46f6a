// pKVM-like EL2 proxy with the fix: `(s32)w0 == -1`, the W view of an SMC32 result.
.macro VERSION_CHECK
    cmn w0, #1
.endm
.include "lib/pkvm_proxy.S"
