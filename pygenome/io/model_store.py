"""A model folder of ``pygenome train`` read back: its ``config.json`` record (architecture, settings, data, split,
best step), without torch, for the steps that need only that (evaluate, report); :func:`pygenome.model.load_model`
reads the weights into the model.

The folder's layout is :data:`pygenome.io.layout.TRAIN`; :func:`pygenome.steps.train.train` writes it.
"""

from __future__ import annotations

import json
from pathlib import Path

from pygenome.errors import InputError


def read_record(model_dir) -> dict:
    """The ``config.json`` record of a model folder: architecture, training settings, data, split, best step."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise InputError(f"{model_dir}: no config.json; is it a model folder written by `pygenome train`?")
    try:
        record = json.loads(path.read_text())
        if not isinstance(record, dict) or not {"model", "data", "split"} <= set(record):
            raise KeyError("model, data or split")
        return record
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError) as error:
        raise InputError(f"{path}: not the config.json of `pygenome train` ({error}); copy the model folder "
                         "again") from error
