"""Files ffaemu ships next to its code: `asm/` (stubs, guests) and `firmware_blobs/`.

In a checkout they are the repository's top-level directories; in an installed wheel or
sdist build, setup.py's build_py step has copied them to `ffaemu/_data/`. `data_dir` finds
either, and `resolve` lets the README's commands (`ffaemu run asm/demo/trapped_smc.S`)
work from any directory: a relative path under asm/ or firmware_blobs/ that does not exist
there is taken from the installed copy.
"""
from __future__ import annotations

from pathlib import Path

SHIPPED = ("asm", "firmware_blobs")
_PACKAGED = Path(__file__).resolve().parent / "_data"
_CHECKOUT = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """The directory `name` (one of SHIPPED), installed copy first, else the checkout's."""
    packaged = _PACKAGED / name
    return packaged if packaged.is_dir() else _CHECKOUT / name


def resolve(path: str | Path) -> Path:
    """`path`, or the shipped copy of a missing relative `asm/...`/`firmware_blobs/...` path."""
    p = Path(path)
    if p.exists() or p.is_absolute() or len(p.parts) < 2 or p.parts[0] not in SHIPPED:
        return p
    shipped = data_dir(p.parts[0]).joinpath(*p.parts[1:])
    return shipped if shipped.exists() else p
