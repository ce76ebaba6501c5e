"""The transformer of Clauwaert & Waegeman: per-nucleotide labels from causal, convolved, relative attention.

Tokens are the genome codes (A, C, G, T, N = 0..4) of one strand read 5'→3'. Each layer projects its input to
queries, keys and values, passes each through its own causal 1-D convolution along the sequence (kernel
``conv_kernel``, the same weights for every head), and lets every position attend to itself and the ``context``
positions upstream of it. Positions enter only through a learned bias per head and distance (0..``context``) added to
the attention logits: the content-independent part of Transformer-XL's relative attention, kept because it is what
lets a head look at a fixed offset (the -10 and -35 boxes of a sigma70 promoter), dropped the content-dependent part
(``q·W_r·R``, a third of the attention cost). A residual connection and LayerNorm close each sublayer; a position-wise
feed-forward sublayer is optional. The output is two logits per position. The prediction at position ``t`` is for the
label at ``t - shift``, so the model sees ``shift`` nt downstream of the site it labels.

Segment memory: :meth:`Transformer.forward` takes and returns per-layer memory, the layer inputs of the last
``context + conv_kernel - 1`` positions, so a contig can be scored segment by segment and every position still sees
its full context; the result equals one forward over the whole sequence.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pygenome.errors import InputError
from pygenome.model.settings import FromSettings


@dataclass(frozen=True)
class TransformerConfig(FromSettings):
    """Architecture; the defaults are the paper's."""

    kind = "transformer"  # the model type saved with the weights (a class attribute, not a setting)

    vocab_size: int = 5
    n_layers: int = 6
    n_heads: int = 6
    d_model: int = 32
    d_head: int = 32
    conv_kernel: int = 7
    context: int = 512
    shift: int = 20
    d_feed_forward: int = 0  # 0: no feed-forward sublayer
    dropout: float = 0.0
    n_classes: int = 2

    def __post_init__(self):
        for name in ("vocab_size", "n_layers", "n_heads", "d_model", "d_head", "conv_kernel", "context", "n_classes"):
            if getattr(self, name) < 1:
                raise InputError(f"model config: {name} must be at least 1, not {getattr(self, name)}")
        if self.shift < 0 or self.d_feed_forward < 0 or not 0 <= self.dropout < 1:
            raise InputError("model config: shift and d_feed_forward must be >= 0 and dropout in [0, 1)")

    @property
    def memory_length(self) -> int:
        """Positions of each layer's input kept as memory between segments."""
        return self.context + self.conv_kernel - 1

    @property
    def receptive_field(self) -> int:
        """Upstream nt an output depends on: each layer reaches ``memory_length`` further."""
        return self.n_layers * self.memory_length

    def as_dict(self) -> dict:
        return asdict(self)


class Layer(nn.Module):
    """One attention layer (and optional feed-forward sublayer).

    The projections and the convolutions that follow them are both linear, so queries, keys and values are computed
    in one matrix product of the unfolded input (the ``conv_kernel`` positions up to each position) with the combined
    weights ``conv_j · W_h`` of tap ``j`` and head ``h``: the same function as projecting and then convolving, with
    the paper's parameters (one projection per head, one convolution shared by the heads), in one large GEMM instead
    of eighteen small convolutions.
    """

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        heads, d_head, d_model, kernel = config.n_heads, config.d_head, config.d_model, config.conv_kernel
        self.projection = nn.Parameter(torch.empty(3, heads, d_head, d_model))  # q, k, v: one matrix per head
        self.conv_weight = nn.Parameter(torch.empty(3, d_head, d_head, kernel))  # q, k, v: (out, in, tap)
        self.conv_bias = nn.Parameter(torch.zeros(3, d_head))
        self.relative_bias = nn.Parameter(torch.zeros(heads, config.context + 1))
        self.out = nn.Linear(heads * d_head, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(config.dropout)
        if config.d_feed_forward:
            self.feed_forward = nn.Sequential(
                nn.Linear(d_model, config.d_feed_forward), nn.GELU(), nn.Dropout(config.dropout),
                nn.Linear(config.d_feed_forward, d_model))
            self.feed_forward_norm = nn.LayerNorm(d_model)
        nn.init.normal_(self.projection, std=d_model ** -0.5)
        nn.init.normal_(self.conv_weight, std=(d_head * kernel) ** -0.5)
        self._bias_cache: dict = {}  # inference: blocks repeat from segment to segment, and so do their biases

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None, need_weights: bool):
        """``x``: ``(B, S, d_model)``; ``memory``: ``(B, M, d_model)`` or None. Returns the output ``(B, S, d_model)``
        and the attention probabilities ``(B, H, S, M + S)`` (None unless ``need_weights``)."""
        config = self.config
        batch, segment, _ = x.shape
        full = x if memory is None else torch.cat([memory, x], dim=1)
        remembered = full.shape[1] - segment
        taps = F.pad(full, (0, 0, config.conv_kernel - 1, 0)).unfold(1, config.conv_kernel, 1)  # (B, T, D, K)
        taps = taps.reshape(batch, full.shape[1], -1)
        weight = self._combined_weight()
        bias = self.conv_bias[:, None, :].expand(3, config.n_heads, config.d_head)
        inner = config.n_heads * config.d_head
        q = F.linear(taps[:, remembered:], weight[0].reshape(inner, -1), bias[0].reshape(-1))
        kv = F.linear(taps, weight[1:].reshape(2 * inner, -1), bias[1:].reshape(-1))
        q = q.view(batch, segment, config.n_heads, config.d_head).transpose(1, 2) * config.d_head ** -0.5
        k, v = kv.view(batch, full.shape[1], 2, config.n_heads, config.d_head).permute(2, 0, 3, 1, 4)
        attended, weights = self._attend(q, k, v, remembered, need_weights)
        attended = attended.transpose(1, 2).reshape(batch, segment, inner)
        x = self.norm(x + self.dropout(self.out(attended)))
        if config.d_feed_forward:
            x = self.feed_forward_norm(x + self.dropout(self.feed_forward(x)))
        return x, weights

    def _combined_weight(self) -> torch.Tensor:
        """``(3, H, d_head, d_model * K)``: the weights from the ``K`` input positions to q, k and v of each head."""
        # conv_weight[g, o, i, j] · projection[g, h, i, d] summed over i → [g, h, o, d, j]
        combined = torch.einsum("goij,ghid->ghodj", self.conv_weight, self.projection)
        return combined.reshape(3, self.config.n_heads, self.config.d_head, -1)

    def _attend(self, q, k, v, remembered: int, need_weights: bool):
        """Attention over blocks of queries, each with only the keys its queries can see. Returns ``(attended (B, H,
        S, d_head), weights (B, H, S, T) or None)``.

        Written out when training (the bias needs its gradient, which the fused kernels do not give) or when the
        weights are asked for; otherwise PyTorch's ``scaled_dot_product_attention`` with the bias as its mask.
        """
        segment, total = q.shape[2], k.shape[2]
        explicit = self.training or need_weights
        outputs, weights = [], None
        if need_weights:
            weights = q.new_zeros(q.shape[0], q.shape[1], segment, total)
        block = _EXPLICIT_BLOCK if explicit else _FUSED_BLOCK
        for start in range(0, segment, block):
            stop = min(start + block, segment)
            low = max(0, start + remembered - self.config.context)
            high = stop + remembered
            bias = self._bias(start, stop, low, high, remembered, q.dtype)
            if not explicit:  # a 4-D mask: with a 3-D one PyTorch's CPU flash kernel declines and math runs
                outputs.append(F.scaled_dot_product_attention(q[:, :, start:stop], k[:, :, low:high],
                                                              v[:, :, low:high], attn_mask=bias[None], scale=1.0))
                continue
            scores = q[:, :, start:stop] @ k[:, :, low:high].transpose(-1, -2)
            probabilities = (scores + bias).softmax(dim=-1)
            if need_weights:
                weights[:, :, start:stop, low:high] = probabilities
            outputs.append(self.dropout(probabilities) @ v[:, :, low:high])
        return torch.cat(outputs, dim=2), weights

    def _bias(self, start: int, stop: int, low: int, high: int, remembered: int, dtype) -> torch.Tensor:
        """Additive attention bias ``(H, stop - start, high - low)`` of queries ``start..stop`` of the segment and keys
        ``low..high`` of memory + segment: the learned bias of each distance, -inf beyond the context and
        downstream. Without gradients it is cached, for as long as the bias parameter is not changed in place."""
        if torch.is_grad_enabled():
            return self._compute_bias(start, stop, low, high, remembered).to(dtype)
        version = (self.relative_bias.data_ptr(), self.relative_bias._version)  # changes with every optimizer step
        key = (start, stop, low, high, remembered, dtype)
        if self._bias_cache.get("version") != version or len(self._bias_cache) > _BIAS_CACHE_SIZE:
            self._bias_cache = {"version": version}
        if key not in self._bias_cache:
            self._bias_cache[key] = self._compute_bias(start, stop, low, high, remembered).to(dtype)
        return self._bias_cache[key]

    def _compute_bias(self, start: int, stop: int, low: int, high: int, remembered: int) -> torch.Tensor:
        distance, hidden = _distances(stop - start, high - low, start + remembered - low, self.config.context,
                                      self.relative_bias.device)
        return self.relative_bias[:, distance].masked_fill(hidden, float("-inf"))


_EXPLICIT_BLOCK = 64  # queries per block of written-out attention (training: fastest on CPU, measured)
_FUSED_BLOCK = 128  # queries per block of the fused kernel (inference: fastest on CPU, measured)
_BIAS_CACHE_SIZE = 32  # blocks' biases kept per layer (a 1,024-nt segment has 8 blocks)


@functools.lru_cache(maxsize=64)
def _distances(queries: int, keys: int, offset: int, context: int, device):
    """Distances (clamped to ``0..context``) from query ``i`` (at key position ``offset + i``) to key ``j``, and the
    mask of keys it cannot see (downstream, or more than ``context`` upstream): two ``(queries, keys)`` tensors.
    Made outside inference mode, as they are cached: an inference tensor could not be used by a later autograd pass."""
    with torch.inference_mode(False):
        distance = torch.arange(queries, device=device)[:, None] + offset - torch.arange(keys, device=device)[None, :]
        return distance.clamp(0, context), (distance < 0) | (distance > context)


class Transformer(nn.Module):
    """Per-nucleotide classifier: tokens ``(B, S)`` → logits ``(B, S, n_classes)``."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.layers = nn.ModuleList(Layer(config) for _ in range(config.n_layers))
        self.head = nn.Linear(config.d_model, config.n_classes)

    def forward(self, tokens: torch.Tensor, memory: list[torch.Tensor] | None = None, need_weights: bool = False):
        """Returns ``(logits, memory, attention)``: logits ``(B, S, n_classes)``; the new memory, one ``(B, M,
        d_model)`` tensor per layer (M = ``config.memory_length`` or fewer at the start of a sequence); and, with
        ``need_weights``, one ``(B, H, S, M_in + S)`` tensor of attention probabilities per layer (else None)."""
        return self.forward_embedded(self.embed(tokens), memory, need_weights)

    def embed_one_hot(self, one_hot: torch.Tensor) -> torch.Tensor:
        """One-hot sequences ``(B, 4, S)`` (A, C, G, T; all zero for N) → embeddings ``(B, S, d_model)``, equal to
        ``embed`` of their tokens and differentiable in ``one_hot`` (for attribution): each position's A..T rows of
        the embedding weighted by its one-hot, plus the N row where the one-hot is all zero."""
        weight = self.embed.weight
        return torch.einsum("bas,ad->bsd", one_hot, weight[:4]) + (1 - one_hot.sum(dim=1))[..., None] * weight[4]

    def forward_embedded(self, x: torch.Tensor, memory: list[torch.Tensor] | None = None, need_weights: bool = False):
        """:meth:`forward` from embeddings ``(B, S, d_model)`` instead of tokens."""
        new_memory, attention = [], []
        keep = self.config.memory_length
        for index, layer in enumerate(self.layers):
            previous = None if memory is None else memory[index]
            new_memory.append((x if previous is None else torch.cat([previous, x], dim=1))[:, -keep:].detach())
            x, weights = layer(x, previous, need_weights)
            attention.append(weights)
        return self.head(x), new_memory, attention if need_weights else None
