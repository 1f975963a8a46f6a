// HVC at EL3 with SCR_EL3.HCE=0 (the reset value) is UNDEFINED at EL3.
.include "../../../asm/lib/diag.S"
test_main:
    hvc #0x3
    bl report
    EXIT
