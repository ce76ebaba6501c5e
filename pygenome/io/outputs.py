"""Whole-or-nothing output files, strict JSON, and folder locks.

Every file a step writes goes through :func:`atomic_outputs`: the step writes to temporary names beside the final
ones, and only when all of them are complete are they renamed into place. A step that fails half-way leaves no
partial file and never clobbers an earlier good output; a full disk, a read-only folder or a file where a folder
should be is an :class:`InputError` naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import math
import os
import shutil
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

from pygenome.errors import InputError

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)
_NOT_A_FOLDER = (errno.ENOTDIR, errno.EEXIST, errno.EISDIR)


@contextlib.contextmanager
def atomic_outputs(*paths: str | os.PathLike) -> Iterator[list[Path]]:
    """Yield temporary paths for ``paths``; rename them all into place when the block ends without error.

    The temporary files live in the destination folders (``.<name>.partial``), so the final rename is atomic on
    POSIX file systems. On error every temporary file is removed and the destinations are left untouched. A
    temporary path the block makes a folder (of figures, say) replaces the destination folder as a whole.
    """
    finals = [Path(p) for p in paths]
    temps = [final.with_name(f".{final.name}.partial") for final in finals]
    made = _absent_folders(finals)
    done = False
    try:
        for final in finals:
            final.parent.mkdir(parents=True, exist_ok=True)
        yield temps
        missing = [str(final) for final, temp in zip(finals, temps) if not temp.exists()]
        if missing:
            raise RuntimeError(f"output(s) never written: {', '.join(missing)}")
        for final, temp in zip(finals, temps):
            if temp.is_dir() and final.is_dir():
                shutil.rmtree(final)
            os.replace(temp, final)
        done = True
    except OSError as error:
        if not _writing(error, finals + temps):
            raise
        raise InputError(write_error(error, finals[0].parent)) from error
    finally:
        for temp in temps:
            if temp.is_dir():
                shutil.rmtree(temp)
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                temp.unlink()
        for folder in made if not done else ():  # the folders made for outputs never written, deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()


def _absent_folders(paths: list[Path]) -> list[Path]:
    """The folders above ``paths`` that do not exist yet, deepest first."""
    absent = set()
    for path in paths:
        for folder in path.parents:
            if folder.exists():
                break
            absent.add(folder)
    return sorted(absent, key=lambda folder: len(folder.parts), reverse=True)


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


def _writing(error: OSError, paths: list[Path]) -> bool:
    """Whether ``error`` is a failed write of ``paths`` (or into their folders), not a failed read of an input."""
    if error.errno in _FULL:
        return True
    if error.errno not in _DENIED + _NOT_A_FOLDER:
        return False
    if error.filename is None:
        return True
    failed = Path(os.fsdecode(error.filename)).absolute()
    return any(failed == path.absolute() or failed in path.absolute().parents for path in paths)


def write_error(error: OSError, folder: Path) -> str:
    """What a failed write (``ENOSPC``, ``EACCES``, ``ENOTDIR``…) means, naming the path and the fix."""
    where = error.filename or folder
    if error.errno in _FULL:
        return (f"{where}: cannot write ({error.strerror}): the file system is full or the file exceeds its size "
                f"limit; free space or choose another output folder (nothing was written under a final name)")
    if error.errno in _DENIED:
        folder = Path(os.fsdecode(where)).parent if error.filename else folder
        return f"{folder}: cannot write there ({error.strerror}); choose a writable output folder"
    return (f"{where}: {error.strerror}: a file stands where a folder is needed, or a folder where a file is; "
            "choose another output folder or prefix")


def json_text(value, **options) -> str:
    """``value`` as strict JSON (RFC 8259: NaN and ±infinity written as null; numpy scalars as numbers), one line
    break at the end; ``options`` go to :func:`json.dumps` (``indent``, ``sort_keys``)."""
    return json.dumps(_finite(value), allow_nan=False, **options) + "\n"


def write_json(path: str | os.PathLike, value, **options) -> None:
    """Write :func:`json_text` of ``value`` to ``path`` (a temporary path of :func:`atomic_outputs`)."""
    Path(path).write_text(json_text(value, **options))


def _finite(value):
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@contextlib.contextmanager
def folder_lock(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a file holding this process's PID) for the block, and remove it after
    (with its folder, when this made the folder and it is left empty).

    Another process holding it is an :class:`InputError` beginning with ``what`` and naming its PID. The lock is
    the kernel's (``flock``): it ends with the process that holds it, so a killed process never leaves a stale one.
    """
    path = Path(path)
    made = not path.parent.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = open(path, "a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                handle.close()
                raise InputError(f"{what} (PID {holder}, which holds {path}); wait for it to finish or stop "
                                 "it") from None
            if path.exists() and os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                break  # (else its holder removed it as this opened it: lock the new one)
            handle.close()
    except OSError as error:
        if not _writing(error, [path]):
            raise
        raise InputError(write_error(error, path.parent)) from error
    with handle:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
            if made:
                with contextlib.suppress(OSError):
                    path.parent.rmdir()
