"""Errors that describe bad input. The CLI prints them as one line and exits 2."""


class FfaemuError(Exception):
    """Base class for user-facing errors (bad image, bad option, bad model name)."""


class AsmError(FfaemuError):
    """Assembly source that the assembler rejects; the message names file:line."""


class ImageError(FfaemuError):
    """An image that cannot be loaded: not an ELF, truncated, wrong machine, off the map."""
