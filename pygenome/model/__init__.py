"""Models: each is a ``torch.nn.Module`` built from a frozen config dataclass that is saved beside its weights, its
``kind`` saved as the model's ``type``. Every model maps tokens ``(B, S)`` to per-position logits with segment memory
(``forward(tokens, memory) -> (logits, memory, attention)``), takes one-hot input through ``embed_one_hot`` and
``forward_embedded`` (for attribution), and says how far upstream an output reads (``config.receptive_field``)."""


from safetensors import SafetensorError
from safetensors.torch import load

from pygenome.errors import InputError
from pygenome.io.model_store import model_folder, read_record
from pygenome.model.cnn import CNN, CNNConfig
from pygenome.model.transformer import Transformer, TransformerConfig

MODELS = {"transformer": (TransformerConfig, Transformer), "cnn": (CNNConfig, CNN)}


def config_class(kind: str):
    """The config dataclass of a model type."""
    if kind not in MODELS:
        raise InputError(f"model type {kind!r}: known types are {', '.join(MODELS)}")
    return MODELS[kind][0]


def config_from_record(values: dict):
    """The config of a saved model record (``{"type": kind, **settings}``; no type: a transformer)."""
    values = dict(values)
    return config_class(values.pop("type", "transformer")).from_dict(values)


def build_model(config):
    """The model of a config."""
    return MODELS[config.kind][1](config)


def load_model(model_dir) -> tuple:
    """A trained model (in eval mode, on CPU) and its ``config.json`` record, from a model folder or a bundled
    model's name."""
    model_dir = model_folder(model_dir)
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
