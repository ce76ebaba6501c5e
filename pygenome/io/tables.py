"""The tables (tab-separated, one header line) and JSON records that steps write, read back: a file that is missing,
not of its format or without a column it must have is an :class:`InputError` naming the file and the step that
writes it.

The steps write their tables with :meth:`pandas.DataFrame.to_csv` (``sep="\\t"``, no index) and their records with
:func:`pygenome.io.outputs.write_json`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pygenome.errors import InputError


def read_json(path, written_by: str) -> dict:
    """The JSON record at ``path``, written by ``written_by`` (e.g. "`pygenome label` (a <prefix>.qc.json file)")."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: not found; give the outputs of {written_by}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not JSON ({error}); give the outputs of {written_by}") from error


def read_table(path, columns, written_by: str, text_columns=frozenset()) -> pd.DataFrame:
    """The table at ``path`` with a header holding ``columns`` (others kept), written by ``written_by``: the
    ``text_columns`` stay text (an empty cell is ""), the others become numbers (an empty or unreadable cell is NaN).
    An empty file is a table of ``columns`` without rows."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: not found; give the outputs of {written_by}")
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        table = pd.DataFrame(columns=list(columns))
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a tab-separated table ({error}); give the outputs of {written_by}") from error
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{path}: no column(s) {', '.join(missing)}; is it a file written by {written_by}, of "
                         "this pygenome version?")
    for column in table.columns:
        if column not in text_columns:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    return table
