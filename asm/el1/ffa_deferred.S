// FF-A driver probed after pKVM is up (the upstream fix defers the probe): every FF-A
// call is trapped by pKVM's proxy, which negotiates on the host's FFA_VERSION.
_start:
    b main
.include "../lib/ffa_driver.S"
main:
    PKVM_INIT
    FFA_PROBE
    FFA_USE
    POWER_OFF
