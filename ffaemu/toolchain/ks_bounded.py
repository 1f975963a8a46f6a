"""keystone, bounded: a worker process per ffaemu process, restarted after a time-out.

keystone 0.9.2 (LLVM MC of 2016) is fast and in-process where its wheel exists, but its
parser never returns on some malformed input (`a:: nop`, `.ascii "abc` without the closing
quote). Assembly therefore runs in `_ks_worker.py` behind a pipe, and a request that takes
longer than `timeout()` seconds kills the worker and raises `KeystoneTimeout`.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import FfaemuError

TIMEOUT_ENV = "FFAEMU_KEYSTONE_TIMEOUT"
DEFAULT_TIMEOUT_S = 5.0
_WORKER = Path(__file__).with_name("_ks_worker.py")


class KeystoneTimeout(FfaemuError):
    """keystone did not answer within the time limit (its parser loops on malformed input)."""


class KeystoneCrash(FfaemuError):
    """The keystone worker died (keystone aborts on some fixups: "LLVM ERROR: ...")."""


@dataclass
class KsFailure:
    """A keystone error: its KS_ERR_* number and message."""

    errno: int
    msg: str


def available() -> bool:
    """True when the keystone-engine package is importable (it has no wheel on some platforms)."""
    import importlib.util
    return importlib.util.find_spec("keystone") is not None


def timeout() -> float:
    """Seconds one keystone assembly may take (`$FFAEMU_KEYSTONE_TIMEOUT`, default 5)."""
    try:
        return float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
    except ValueError:
        raise FfaemuError(f"{TIMEOUT_ENV} must be a number of seconds") from None


class _Worker:
    def __init__(self) -> None:
        import threading
        self.proc = None
        self.lock = threading.Lock()

    def _start(self):
        import subprocess
        if self.proc is None or self.proc.poll() is not None:
            if self.proc is None:
                import atexit
                atexit.register(self.stop)
            self.proc = subprocess.Popen([sys.executable, str(_WORKER)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True, bufsize=1)
        return self.proc

    def stop(self) -> str:
        """Kill the worker; return what it wrote to stderr (keystone's abort message)."""
        err = ""
        if self.proc is not None:
            self.proc.kill()
            err = self.proc.communicate()[1] or ""
            self.proc = None
        return err.strip().splitlines()[-1] if err.strip() else ""

    def asm(self, src: str, base: int) -> tuple[bytes | None, KsFailure | None]:
        import json
        import threading
        with self.lock:
            proc = self._start()
            try:
                proc.stdin.write(json.dumps({"src": src, "base": base}) + "\n")
                proc.stdin.flush()
            except BrokenPipeError:
                raise KeystoneCrash(f"keystone aborted ({self.stop() or 'no message'})") from None
            got: list[str] = []             # a reader thread, so the limit works on any OS
            reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
            reader.start()
            reader.join(timeout())
            line = got[0] if got else ""
            if got and not line:
                raise KeystoneCrash(f"keystone aborted ({self.stop() or 'no message'})")
            if not line:
                self.stop()
                reader.join()
                raise KeystoneTimeout(f"keystone did not finish within {timeout():g} s "
                                      f"(its parser loops on some malformed input)")
        reply = json.loads(line)
        if "code" in reply:
            return bytes.fromhex(reply["code"]), None
        return None, KsFailure(reply["errno"], reply["msg"])


_worker: _Worker | None = None


def asm(src: str, base: int) -> tuple[bytes | None, KsFailure | None]:
    """Assemble `src` at `base` with keystone; (code, None) or (None, failure)."""
    global _worker
    if _worker is None:
        _worker = _Worker()
    return _worker.asm(src, base)
