"""A model folder of ``pygenome train`` read back: its ``config.json`` record (architecture, settings, data, split,
best step, calibrated site calling), without torch, for the steps that need only that (evaluate, report);
:func:`pygenome.model.load_model` reads the weights into the model. A model is named by its folder, or by the name of
a model bundled with the package (:func:`model_folder`, :func:`bundled_models`).

The folder's layout is :data:`pygenome.io.layout.TRAIN`; :func:`pygenome.steps.train.train` writes it.
"""

from __future__ import annotations

import json
from pathlib import Path

from pygenome.errors import InputError
from pygenome.io.package_data import MODELS


def read_record(model_dir) -> dict:
    """The ``config.json`` record of a model folder (or a bundled model's name, :func:`model_folder`): architecture,
    training settings, data, split, best step, calibrated site calling."""
    path = model_folder(model_dir) / "config.json"
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


def bundled_models() -> list[str]:
    """The names of the models bundled with the package (e.g. ``ecoli-cpu``)."""
    return sorted(path.name for path in MODELS.iterdir() if (path / "config.json").is_file()) if MODELS.is_dir() else []


def model_folder(value) -> Path:
    """The model folder ``value`` names: a folder, else a bundled model's name."""
    path = Path(value)
    if path.is_dir():
        return path
    if str(value) in bundled_models():
        return MODELS / str(value)
    if path.exists():
        raise InputError(f"{value}: a file, not a model folder; give the folder `pygenome train` wrote (it holds "
                         "config.json and model.safetensors)")
    raise InputError(f"{value}: neither a model folder nor the name of a bundled model "
                     f"({', '.join(bundled_models())}); give the folder `pygenome train` wrote (it holds config.json "
                     "and model.safetensors)")
