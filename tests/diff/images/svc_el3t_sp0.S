// SVC at EL3t (SPSel=0): EL3's SP0 vector; SPSR_EL3 = 0x3cc.
.include "../../../asm/lib/diag.S"
test_main:
    msr spsel, #0
    svc #0x30
    bl report
    msr spsel, #1
    bl report
    EXIT
