"""The model store: a model folder of ``pygenome train`` read back (its ``config.json`` record, its weights), in one
place, so that every step reads a model folder the same way and none imports the training step to do it. Reading
the record needs no torch (the evaluate step and the report read only it).

The folder's layout is :data:`pygenome.layout.TRAIN`; :func:`pygenome.train.train` writes it.
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


def load_model(model_dir) -> tuple:
    """A trained model (in eval mode, on CPU) and its ``config.json`` record."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    from pygenome.models import build_model, config_from_record

    model_dir = Path(model_dir)
    record = read_record(model_dir)
    if not (model_dir / "model.safetensors").is_file():
        raise InputError(f"{model_dir}: no model.safetensors; is it a model folder written by `pygenome train`?")
    try:
        model = build_model(config_from_record(record["model"]))
    except (KeyError, TypeError) as error:
        raise InputError(f"{model_dir / 'config.json'}: not the config.json of `pygenome train` ({error}); copy "
                         "the model folder again") from error
    try:
        weights = load((model_dir / "model.safetensors").read_bytes())
    except SafetensorError as error:
        raise InputError(f"{model_dir / 'model.safetensors'}: not readable safetensors ({error}): the file is "
                         "damaged or incomplete; copy the model folder again") from error
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        lines = str(error).splitlines()
        raise InputError(f"{model_dir}: model.safetensors does not fit the architecture in config.json "
                         f"({lines[1].strip() if len(lines) > 1 else error}); the two files come from different "
                         "trainings") from error
    return model.eval(), record
