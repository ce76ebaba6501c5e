"""What the model configs share: reading settings from a saved record."""

from __future__ import annotations

from dataclasses import fields

from pygenome.errors import InputError


class FromSettings:
    """A mixin for a config dataclass: :meth:`from_dict` builds it from its settings, refusing unknown ones."""

    @classmethod
    def from_dict(cls, values: dict):
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise InputError(f"model config: unknown setting(s) {', '.join(sorted(unknown))}; known: "
                             f"{', '.join(sorted(known))}")
        return cls(**values)
