// SVC at EL3h goes to EL3 itself.
.include "../../../asm/lib/diag.S"
test_main:
    svc #0x303
    bl report
    EXIT
