// SMC at EL3 is taken to EL3 (current EL, SPx).
.include "../../../asm/lib/diag.S"
test_main:
    smc #0x33
    bl report
    EXIT
