// WFE completes at once on QEMU 7.2 (a yield) and on ffaemu: no exception, no stop.
.include "../../../asm/lib/diag.S"
test_main:
    wfe
    wfe
    bl report
    bl report
    EXIT
