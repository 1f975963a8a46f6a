// FF-A driver built into the kernel: it probes FF-A before KVM initialises pKVM, so
// its FFA_VERSION goes straight to EL3 (HCR_EL2.TSC is still clear) - bug 2.
_start:
    b main
.include "../lib/ffa_driver.S"
main:
    FFA_PROBE
    PKVM_INIT
    FFA_USE
    POWER_OFF
