"""What AArch64 fixes: system registers, PSTATE, the exception model. Nothing about FF-A."""
