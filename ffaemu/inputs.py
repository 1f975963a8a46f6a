"""Reading user input files with a size limit: a device (`/dev/zero`), or a pipe or file
larger than the limit, given as an image, a source or a command file, is refused in one
line instead of being read without bound."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import FfaemuError

MAX_IMAGE_BYTES = 256 << 20          # larger than any RAM window an image can occupy
MAX_TEXT_BYTES = 16 << 20            # .S sources, .include files, debugger command files


def read_bounded(path: str | Path, limit: int = MAX_IMAGE_BYTES, error=FfaemuError) -> bytes:
    """The bytes of `path`, at most `limit` of them, or `error` naming the problem.

    Never reads more than limit + 1 bytes, whatever the file is (a regular file, a
    device such as /dev/zero, a pipe)."""
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if stat.S_ISDIR(mode):
                raise error(f"{path}: is a directory")
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                raise error(f"{path}: a device, not a regular file; refusing to read it")
            data = f.read(limit + 1)
    except OSError as e:
        raise error(f"{path}: cannot read: {e.strerror}") from None
    if len(data) > limit:
        kind = "file" if stat.S_ISREG(mode) else "pipe"
        raise error(f"{path}: {kind} larger than {limit >> 20} MiB; refusing to read it")
    return data


def read_text(path: str | Path, limit: int = MAX_TEXT_BYTES, error=FfaemuError) -> str:
    """A UTF-8 text file (size-checked), or `error` naming the first bad byte's line."""
    data = read_bounded(path, limit, error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise error(f"{path}:{line}: not UTF-8 text (byte {data[e.start]:#04x})") from None
