"""ffaemu: AArch64 EL3/EL2/EL1 on Unicorn with real SMC/HVC trapping, for FF-A bugs."""
