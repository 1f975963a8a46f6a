"""Load a user's model class from a Python file: `--el3 FILE.py:CLASS[:key=value,...]`.

The class must derive from the role's bases in `ffaemu.api` (EL3: `Firmware`; EL2:
`Hypervisor` or a built-in hypervisor model). Every mistake is one line naming the file
(and the line, for an exception while importing it), never a traceback.
"""
from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import traceback
from pathlib import Path

from ..errors import FfaemuError

SPEC = re.compile(r"^(?P<file>.+\.py)(?::(?P<cls>[^:]*))?(?::(?P<opts>.*))?$")


def is_user_spec(spec: str) -> bool:
    """`FILE.py` or `FILE.py:CLASS...`: a model written by the user."""
    return bool(SPEC.match(spec))


def load_class(spec: str, role: str) -> tuple[type, str]:
    """The class `spec` names, checked for `role` ("firmware"/"hypervisor"), and its options."""
    from .. import api
    m = SPEC.match(spec)
    path, name, opts = Path(m["file"]), m["cls"], m["opts"] or ""
    if not name:
        raise FfaemuError(f"{path}: name the model class: --el{3 if role == 'firmware' else 2} "
                          f"{path}:CLASS")
    if not name.isidentifier():
        raise FfaemuError(f"{path}: '{name}' is not a Python class name")
    if not path.is_file():
        raise FfaemuError(f"{path}: no such model file")
    module = _import(path)
    cls = getattr(module, name, None)
    if cls is None:
        found = sorted(k for k, v in vars(module).items() if isinstance(v, type)
                       and v.__module__ == module.__name__)
        raise FfaemuError(f"{path}: no class '{name}' (classes defined there: "
                          f"{', '.join(found) or 'none'})")
    bases = api.EL3_BASES if role == "firmware" else api.EL2_BASES
    if not (isinstance(cls, type) and issubclass(cls, bases)):
        want = ("an EL3 model: subclass ffaemu.api.Firmware (or Tfa, TfaSpmd, TfaEl3Spmc, Optee)"
                if role == "firmware" else
                "an EL2 model: subclass ffaemu.api.Hypervisor (or Pkvm, Xen, NoHypervisor)")
        raise FfaemuError(f"{path}:{_line_of(cls)}: '{name}' is not {want}")
    return cls, opts


def create(spec: str, role: str, **common):
    """Build the user's model: `Class(**common, **options)`."""
    from . import parse_spec
    cls, opts = load_class(spec, role)
    _, options = parse_spec(f"x:{opts}")
    try:
        return cls(**common, **options)
    except FfaemuError:
        raise
    except Exception as e:                           # the user's constructor failed
        raise FfaemuError(f"{spec}: {_where(e, Path(SPEC.match(spec)['file']))}"
                          f"{type(e).__name__}: {e} (while creating the model)") from None


def _import(path: Path):
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    stem = re.sub(r"\W", "_", path.stem)
    modname = f"ffaemu_user_{stem}_{digest}"
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module                      # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        sys.modules.pop(modname, None)
        raise FfaemuError(f"{path}:{e.lineno}: SyntaxError: {e.msg}") from None
    except Exception as e:
        sys.modules.pop(modname, None)
        raise FfaemuError(f"{_where(e, path) or f'{path}: '}{type(e).__name__}: {e} "
                          "(while importing the model file)") from None
    return module


def _where(e: BaseException, path: Path) -> str:
    """`FILE:LINE: ` of the deepest frame of `e` in the user's file, or ''."""
    frames = [f for f in traceback.extract_tb(e.__traceback__)
              if Path(f.filename).resolve() == path.resolve()]
    return f"{path}:{frames[-1].lineno}: " if frames else ""


def _line_of(obj) -> str:
    import inspect
    try:
        return str(inspect.getsourcelines(obj)[1])
    except (TypeError, OSError):
        return "?"
