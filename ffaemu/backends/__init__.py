"""Backends other than the Unicorn machine: real firmware under QEMU."""
