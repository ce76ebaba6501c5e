"""What the model and training configs share: reading settings, each checked against its field's type."""

from __future__ import annotations

import json
import math
import typing
from dataclasses import fields
from pathlib import Path

from pygenome.errors import InputError


def read_settings(path) -> dict:
    """The settings of a JSON file over a preset: ``{"model": {...}, "training": {...}}`` (or flat names)."""
    try:
        settings = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: cannot read as JSON settings ({error})") from error
    if not isinstance(settings, dict):
        raise InputError(f'{path}: expected a JSON object of settings, e.g. {{"training": {{"steps": 500}}}}')
    return settings


def setting_pairs(items) -> list[tuple[str, object]]:
    """``NAME=VALUE`` items (``--set``) as (name, value) pairs, each value read as JSON where it is JSON, else as
    text."""
    pairs = []
    for item in items:
        name, _, value = item.partition("=")
        if not value:
            raise InputError(f"--set {item!r}: expected NAME=VALUE")
        try:
            pairs.append((name, json.loads(value)))
        except json.JSONDecodeError:
            pairs.append((name, value))
    return pairs


def check_types(cls, values: dict, where: str) -> None:
    """Raise :class:`InputError` for a value of ``values`` that is not of its field's type in the dataclass ``cls``
    (int, float, str, bool, or a tuple of numbers); floats must be finite. ``where`` names the config."""
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        kind = hints.get(name)
        if kind is None:
            continue
        if typing.get_origin(kind) is tuple:
            items = typing.get_args(kind)
            size = None if items[-1] is Ellipsis else len(items)
            whole = items[0] is int
            ok = isinstance(value, (list, tuple)) and len(value) == (size or len(value)) and all(
                _finite(item) and (not whole or float(item).is_integer()) for item in value)
            wanted = f"a list of {size or 'any number of'} {'whole' if whole else 'finite'} numbers"
        elif kind is bool:
            ok, wanted = isinstance(value, bool), "true or false"
        elif kind is int:
            ok, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
        elif kind is float:
            ok, wanted = _finite(value), "a finite number"
        else:
            ok, wanted = isinstance(value, kind), kind.__name__
        if not ok:
            raise InputError(f"{where}: {name} must be {wanted}, not {value!r}")


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class FromSettings:
    """A mixin for a config dataclass: :meth:`from_dict` builds it from its settings, refusing unknown ones and
    values of the wrong type."""

    @classmethod
    def from_dict(cls, values: dict):
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise InputError(f"model config: unknown setting(s) {', '.join(sorted(unknown))}; known: "
                             f"{', '.join(sorted(known))}")
        check_types(cls, values, "model config")
        return cls(**values)
