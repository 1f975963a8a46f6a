// EL3 monitor answering FFA_VERSION with NOT_SUPPORTED sign-extended, as pKVM and
// TF-A's SMC_UNK do: x0 = 0xffffffffffffffff.
.macro NS_ANSWER
    mov x0, #-1
.endm
.include "lib/monitor.S"
