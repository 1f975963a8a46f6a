// TF-A's SPMD with no SPMC (tfa-2.14.6-spmd-nospmc.bios): the calls it answers itself come
// back; the first call it forwards (FFA_FEATURES) switches to a secure context that was never
// set up, BL31 takes a data abort at EL3 and the system hangs. The console ends at call 4.
_start:
    b main
.include "../../asm/lib/regdump.S"
main:
    mov x24, #0
    FFA 0x84000063, 0x10002                 // FFA_VERSION: NOT_SUPPORTED, zero-extended
    FFA 0x84000069                          // FFA_ID_GET: answered by the SPMD
    FFA 0x84000085                          // FFA_SPM_ID_GET: 0, no SPMC manifest
    FFA 0xC400006F, 0x80018001, 0           // secure source ID: refused before forwarding
    FFA 0x84000064, 0x84000066, 0           // FFA_FEATURES: forwarded, never returns
    FFA 0x84000069                          // not reached
    EXIT
