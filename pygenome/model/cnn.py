"""A convolutional baseline in the style of Koo & Ploenzke (2020): first-layer filters that act as motif detectors,
pooling, deeper convolutions and a per-nucleotide head.

Tokens (A, C, G, T, N = 0..4, one strand read 5'→3') enter as one-hot columns (N all zero). All layers are causal, so
the output at ``t`` reads only ``t`` and the nucleotides before it, and, as for the transformer, the output at ``t``
labels position ``t - shift`` (it sees ``shift`` nt downstream of the site):

1. ``n_filters`` first-layer filters of ``filter_width`` nt, ReLU (their activations are what
   :mod:`pygenome.steps.filters` reads as motifs);
2. a causal max-pool over the last ``pool`` positions, stride 1 (the per-nucleotide output keeps every position);
3. ``len(dilations)`` convolutions of ``conv_width`` taps, ``n_channels`` channels each, dilated by ``dilations``
   (reaching far upstream cheaply), ReLU, dropout;
4. a linear head: ``n_classes`` logits per position.

Segment memory works as the transformer's: :meth:`CNN.forward` takes and returns the last ``memory_length`` input
columns (the receptive field less one), so a contig scored segment by segment gives the whole forward's outputs. A
CNN has no attention: asking for it raises an error.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pygenome.errors import InputError
from pygenome.model.settings import FromSettings


@dataclass(frozen=True)
class CNNConfig(FromSettings):
    """Architecture of the convolutional baseline."""

    kind = "cnn"  # the model type saved with the weights (a class attribute, not a setting)

    vocab_size: int = 5
    n_filters: int = 32
    filter_width: int = 19
    pool: int = 4
    n_channels: int = 32
    conv_width: int = 7
    dilations: tuple[int, ...] = (4, 8)
    shift: int = 20
    dropout: float = 0.1
    n_classes: int = 2

    def __post_init__(self):
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))
        for name in ("n_filters", "filter_width", "pool", "n_channels", "conv_width", "n_classes"):
            if getattr(self, name) < 1:
                raise InputError(f"model config: {name} must be at least 1, not {getattr(self, name)}")
        if self.vocab_size != 5 or self.shift < 0 or not 0 <= self.dropout < 1 or min(self.dilations, default=1) < 1:
            raise InputError("model config: vocab_size must be 5, shift >= 0, dropout in [0, 1), dilations >= 1")

    @property
    def memory_length(self) -> int:
        """Input columns an output reads before its own: the receptive field less one."""
        return (self.filter_width - 1) + (self.pool - 1) + sum((self.conv_width - 1) * d for d in self.dilations)

    @property
    def receptive_field(self) -> int:
        """Upstream nt an output depends on."""
        return self.memory_length

    def as_dict(self) -> dict:
        values = asdict(self)
        values["dilations"] = list(self.dilations)
        return values


class CNN(nn.Module):
    """Per-nucleotide classifier: tokens ``(B, S)`` → logits ``(B, S, n_classes)``."""

    def __init__(self, config: CNNConfig):
        super().__init__()
        self.config = config
        self.filters = nn.Conv1d(4, config.n_filters, config.filter_width)
        channels = [config.n_filters] + [config.n_channels] * len(config.dilations)
        self.convolutions = nn.ModuleList(nn.Conv1d(channels[i], channels[i + 1], config.conv_width, dilation=d)
                                          for i, d in enumerate(config.dilations))
        # ReLUs and the pool as modules, one per use, so that DeepLIFT's rules see them (no weights of their own)
        self.activations = nn.ModuleList(nn.ReLU() for _ in range(1 + len(config.dilations)))
        self.pool = nn.MaxPool1d(config.pool, stride=1)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(channels[-1], config.n_classes)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Tokens ``(B, S)`` → one-hot columns ``(B, S, 4)`` (N all zero)."""
        return F.one_hot(tokens.long(), 5)[..., :4].float()

    def embed_one_hot(self, one_hot: torch.Tensor) -> torch.Tensor:
        """One-hot ``(B, 4, S)`` → the model's input ``(B, S, 4)``, differentiable (for attribution)."""
        return one_hot.transpose(1, 2)

    def forward(self, tokens: torch.Tensor, memory: list[torch.Tensor] | None = None, need_weights: bool = False):
        """Returns ``(logits (B, S, n_classes), memory [the last memory_length input columns (B, M, 4)], None)``."""
        return self.forward_embedded(self.embed(tokens), memory, need_weights)

    def filter_activations(self, x: torch.Tensor) -> torch.Tensor:
        """First-layer activations ``(B, n_filters, S - filter_width + 1)`` of one-hot input ``(B, 4, S)`` (no
        padding: activation ``i`` reads columns ``i .. i + filter_width - 1``)."""
        return self.activations[0](self.filters(x))

    def forward_embedded(self, x: torch.Tensor, memory: list[torch.Tensor] | None = None, need_weights: bool = False):
        """:meth:`forward` from one-hot columns ``(B, S, 4)``."""
        if need_weights:
            raise InputError("a CNN has no attention weights; attention analyses need a transformer model")
        length, keep = x.shape[1], self.config.memory_length
        full = x if memory is None else torch.cat([memory[0].to(x.dtype), x], dim=1)
        new_memory = [full[:, -keep:].detach()] if keep else [full[:, :0].detach()]
        h = full.transpose(1, 2)  # (B, 4, M + S)
        h = self.filter_activations(F.pad(h, (self.config.filter_width - 1, 0)))
        h = self.pool(F.pad(h, (self.config.pool - 1, 0)))
        for convolution, dilation, activation in zip(self.convolutions, self.config.dilations, self.activations[1:]):
            h = self.dropout(activation(convolution(F.pad(h, ((self.config.conv_width - 1) * dilation, 0)))))
        logits = self.head(h[:, :, -length:].transpose(1, 2))
        return logits, new_memory, None
