"""Behaviour of real implementations: firmware (EL3) and hypervisor (EL2) models.

Models are chosen by name with options, `NAME[:key=value,...]`. Each registry maps a
name to a factory taking the parsed options.
"""
from __future__ import annotations

from ..errors import FfaemuError


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split `name:key=value,key=value` into the name and its options."""
    name, _, rest = spec.partition(":")
    options: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise FfaemuError(f"model option '{item}' in '{spec}' is not key=value")
        options[key.strip()] = value.strip()
    return name.strip(), options


def check_options(role: str, name: str, options: dict[str, str],
                  valid: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """`options` (from `NAME:key=value,...`) checked against `valid` (each key's values, the
    default first); a copy, or a one-line error naming the model, the key and what is valid."""
    for key, value in options.items():
        if key not in valid:
            raise FfaemuError(f"{role} model '{name}' has no option '{key}' "
                              f"(valid: {', '.join(valid) or 'none'})")
        if value not in valid[key]:
            raise FfaemuError(f"invalid value '{value}' for {name}:{key} "
                              f"(valid: {', '.join(valid[key])})")
    return dict(options)


class ModelRegistry:
    """Named model factories for one role (EL3 firmware or EL2 hypervisor)."""

    def __init__(self, role: str):
        self.role = role
        self._factories: dict[str, tuple[object, str]] = {}

    def register(self, name: str, factory, summary: str) -> None:
        """`factory` is a callable, or "package.module:Class", imported only when a model
        of that name is created (the command line imports just the models it runs)."""
        self._factories[name] = (factory, summary)

    def factory(self, name: str):
        factory, summary = self._factories[name]
        if isinstance(factory, str):
            import importlib
            module, _, attr = factory.partition(":")
            factory = getattr(importlib.import_module(module), attr)
            self._factories[name] = (factory, summary)
        return factory

    def names(self) -> list[str]:
        return sorted(self._factories)

    def summaries(self) -> list[tuple[str, str]]:
        return [(n, self._factories[n][1]) for n in self.names()]

    def create(self, spec: str, **common):
        """Build the model `spec` names; `common` are settings every model takes (e.g. upper)."""
        from .user import create, is_user_spec
        if is_user_spec(spec):
            return create(spec, self.role, **common)
        name, options = parse_spec(spec)
        if name not in self._factories:
            raise FfaemuError(f"unknown {self.role} model '{name}' (valid: {', '.join(self.names())})")
        clash = sorted(set(options) & set(common))
        if clash:                     # e.g. `tfa:upper=zero`: set by --fw-upper / --seed instead
            raise FfaemuError(f"model option '{clash[0]}' in '{spec}' is set by "
                              f"--{'fw-' if clash[0] == 'upper' else ''}{clash[0]}, not in the model name")
        return self.factory(name)(**common, **options)
