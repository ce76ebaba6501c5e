"""Models: each is a ``torch.nn.Module`` built from a frozen config dataclass that is saved beside its weights, its
``kind`` saved as the model's ``type``. Every model maps tokens ``(B, S)`` to per-position logits with segment memory
(``forward(tokens, memory) -> (logits, memory, attention)``), takes one-hot input through ``embed_one_hot`` and
``forward_embedded`` (for attribution), and says how far upstream an output reads (``config.receptive_field``)."""

from pygenome.errors import InputError
from pygenome.models.cnn import CNN, CNNConfig
from pygenome.models.transformer import Transformer, TransformerConfig

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
