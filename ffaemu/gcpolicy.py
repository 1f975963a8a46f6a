"""The cyclic garbage collector's pace while a machine runs (`Machine.resume`).

A run keeps a record of every exception and call (several small containers per trap) and
CPython's collector re-traverses everything that survives: with its default first
threshold (700 allocations) it ran every few dozen traps and, as the records grew, full
collections took more CPU time than the models themselves (issue 13's profile: about
a third of a bare trap). While the CPU runs, the first threshold is raised to
`RUN_THRESHOLD0`: young objects are still collected, every `RUN_THRESHOLD0` allocations,
so garbage cycles a model makes stay bounded; the caller's thresholds are put back when
the run returns. A collector switched off (`gc.disable()`, threshold 0) stays off.

The objects that exist when the run starts (the interpreter's modules, the loaded images,
machines of earlier runs) are frozen for the run (`gc.freeze()`, undone by
`gc.unfreeze()` when it returns): a full collection that falls inside the run then walks
only what the run made, not the whole heap (one such walk cost several milliseconds, a
tenth of a microsecond per trap over a 20,000-trap run, and decided by chance whether a run
had it). Nothing is lost: cycles among those objects are collected after the run. A
program that froze objects itself (`gc.get_freeze_count()` nonzero) is left as it is.
"""
from __future__ import annotations

import gc

RUN_THRESHOLD0 = 100_000


class RunPace:
    """`with RunPace():` around emulation; re-entrant (the outer setting is restored)."""

    __slots__ = ("_saved", "_froze")

    def __enter__(self) -> "RunPace":
        self._saved = gc.get_threshold()
        self._froze = gc.isenabled() and self._saved[0] > 0 and gc.get_freeze_count() == 0
        if self._froze:
            gc.freeze()
        if 0 < self._saved[0] < RUN_THRESHOLD0:
            gc.set_threshold(RUN_THRESHOLD0, *self._saved[1:])
        return self

    def __exit__(self, *exc) -> None:
        gc.set_threshold(*self._saved)
        if self._froze:
            gc.unfreeze()
