"""The machine's option values the command line needs before Unicorn is imported."""
from __future__ import annotations

CPU_NAMES = ("a72", "max")              # machine.CPU_MODELS' keys (Unicorn's A72 and MAX)
DEFAULT_MAX_INSNS = 100_000_000
MAX_MAX_INSNS = 1 << 40                 # --max-insns upper bound (about 3 hours of guest code)
