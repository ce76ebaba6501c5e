"""Whole-or-nothing output files.

Every file a step writes goes through :func:`atomic_outputs`: the step writes to temporary names beside the final
ones, and only when all of them are complete are they renamed into place. A step that fails half-way leaves no
partial file and never clobbers an earlier good output.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@contextlib.contextmanager
def atomic_outputs(*paths: str | os.PathLike) -> Iterator[list[Path]]:
    """Yield temporary paths for ``paths``; rename them all into place when the block ends without error.

    The temporary files live in the destination folders (``.<name>.partial``), so the final rename is atomic on
    POSIX file systems. On error every temporary file is removed and the destinations are left untouched. A
    temporary path the block makes a folder (of figures, say) replaces the destination folder as a whole.
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
            if temp.is_dir() and final.is_dir():
                shutil.rmtree(final)
            os.replace(temp, final)
    finally:
        for temp in temps:
            if temp.is_dir():
                shutil.rmtree(temp)
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


def save_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an ``.npz`` archive (readable by ``numpy.load``), whole or not at all.

    Members are deflated at level 1 (five times faster than the default for 1.5x the size) and carry a fixed
    timestamp, so the same arrays give the same bytes. Object arrays are refused (``numpy.load`` would need pickle).
    """
    with atomic_outputs(path) as (temp,):
        with zipfile.ZipFile(temp, "w") as archive:
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
                archive.writestr(info, buffer.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
