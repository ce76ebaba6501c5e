"""Whole-or-nothing output files.

Every file a step writes goes through :func:`atomic_outputs`: the step writes to temporary names beside the final
ones, and only when all of them are complete are they renamed into place. A step that fails half-way leaves no
partial file and never clobbers an earlier good output.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_outputs(*paths: str | os.PathLike) -> Iterator[list[Path]]:
    """Yield temporary paths for ``paths``; rename them all into place when the block ends without error.

    The temporary files live in the destination folders (``.<name>.partial``), so the final rename is atomic on
    POSIX file systems. On error every temporary file is removed and the destinations are left untouched.
    """
    finals = [Path(p) for p in paths]
    temps = [final.with_name(f".{final.name}.partial") for final in finals]
    for final in finals:
        final.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield temps
        missing = [str(final) for final, temp in zip(finals, temps) if not temp.exists()]
        if missing:
            raise RuntimeError(f"output(s) never written: {', '.join(missing)}")
        for final, temp in zip(finals, temps):
            os.replace(temp, final)
    finally:
        for temp in temps:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
