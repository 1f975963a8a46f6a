"""Analyses over several vCPUs: the ARMv8 memory model (memmodel), herd7 litmus tests (litmus)."""
