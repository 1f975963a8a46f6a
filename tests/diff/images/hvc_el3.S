// HVC at EL3 with SCR_EL3.HCE=1 is taken to EL3.
.include "../../../asm/lib/diag.S"
test_main:
    ldr x0, =0x501
    msr scr_el3, x0
    hvc #0x4b3
after_hvc:
    bl report
    EXIT
