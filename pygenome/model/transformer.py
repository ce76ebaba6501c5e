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
        if self.training or need_weights:
            q, k, v = self._project(full, remembered)
            attended, weights = self._attend(q, k, v, remembered, need_weights)
        else:
            q, k, v = self._project_by_convolution(full, remembered)
            attended, weights = self._attend_banded(q, k, v, remembered), None
        attended = attended.transpose(1, 2).reshape(batch, segment, config.n_heads * config.d_head)
        x = self.norm(x + self.dropout(self.out(attended)))
        if config.d_feed_forward:
            x = self.feed_forward_norm(x + self.dropout(self.feed_forward(x)))
        return x, weights

    def _project(self, full: torch.Tensor, remembered: int):
        """Queries ``(B, H, S, d_head)`` of the segment's positions (``full[:, remembered:]``) and keys and values ``(B,
        H, T, d_head)`` of all ``T`` positions of ``full`` ``(B, T, d_model)``: one GEMM of the unfolded input."""
        config = self.config
        batch, total, _ = full.shape
        taps = F.pad(full, (0, 0, config.conv_kernel - 1, 0)).unfold(1, config.conv_kernel, 1)  # (B, T, D, K)
        taps = taps.reshape(batch, total, -1)
        weight = self._combined_weight()
        bias = self.conv_bias[:, None, :].expand(3, config.n_heads, config.d_head)
        inner = config.n_heads * config.d_head
        q = F.linear(taps[:, remembered:], weight[0].reshape(inner, -1), bias[0].reshape(-1))
        kv = F.linear(taps, weight[1:].reshape(2 * inner, -1), bias[1:].reshape(-1))
        q = q.view(batch, total - remembered, config.n_heads, config.d_head).transpose(1, 2) * config.d_head ** -0.5
        k, v = kv.view(batch, total, 2, config.n_heads, config.d_head).permute(2, 0, 3, 1, 4)
        return q, k, v

    def _project_by_convolution(self, full: torch.Tensor, remembered: int):
        """:meth:`_project` as one causal ``conv1d`` with the combined weights (inference: no unfolded copy of the
        input), queries unscaled. Returns views ``(B, H, S, d_head)`` and ``(B, H, T, d_head)`` of its ``(B, 3 H d_head,
        T)`` output."""
        config = self.config
        batch, total, _ = full.shape
        weight = self._combined_weight().reshape(-1, config.d_model, config.conv_kernel)  # (3 H d_head, D, K)
        bias = self.conv_bias[:, None, :].expand(3, config.n_heads, config.d_head).reshape(-1)
        qkv = F.conv1d(F.pad(full.transpose(1, 2), (config.conv_kernel - 1, 0)), weight, bias)
        q, k, v = qkv.view(batch, 3, config.n_heads, config.d_head, total).transpose(-1, -2).unbind(1)
        return q[:, :, remembered:], k, v

    def _combined_weight(self) -> torch.Tensor:
        """``(3, H, d_head, d_model * K)``: the weights from the ``K`` input positions to q, k and v of each head."""
        # conv_weight[g, o, i, j] · projection[g, h, i, d] summed over i → [g, h, o, d, j]
        combined = torch.einsum("goij,ghid->ghodj", self.conv_weight, self.projection)
        return combined.reshape(3, self.config.n_heads, self.config.d_head, -1)

    def _attend(self, q, k, v, remembered: int, need_weights: bool):
        """Written-out attention over blocks of queries, each with only the keys its queries can see: for training
        (the bias needs its gradient, which the fused kernels do not give) and when the weights are asked for. Returns
        ``(attended (B, H, S, d_head), weights (B, H, S, T) or None)``."""
        segment, total = q.shape[2], k.shape[2]
        outputs, weights = [], None
        if need_weights:
            weights = q.new_zeros(q.shape[0], q.shape[1], segment, total)
        for start in range(0, segment, _EXPLICIT_BLOCK):
            stop = min(start + _EXPLICIT_BLOCK, segment)
            low = max(0, start + remembered - self.config.context)
            high = stop + remembered
            scores = q[:, :, start:stop] @ k[:, :, low:high].transpose(-1, -2)
            probabilities = (scores + self._bias(start, stop, low, high, remembered, q.dtype)).softmax(dim=-1)
            if need_weights:
                weights[:, :, start:stop, low:high] = probabilities
            outputs.append(self.dropout(probabilities) @ v[:, :, low:high])
        return torch.cat(outputs, dim=2), weights

    def _attend_banded(self, q, k, v, remembered: int) -> torch.Tensor:
        """Inference: the attention of :meth:`_attend` as one call of PyTorch's fused ``scaled_dot_product_attention``
        over blocks of :data:`_BAND_BLOCK` queries, each with its own window of the ``context + _BAND_BLOCK`` keys its
        queries can see. ``q``: ``(B, H, S, d_head)``, unscaled; ``k``, ``v``: ``(B, H, T, d_head)``. Returns ``(B, H,
        S, d_head)``.

        Keys are padded (zeros, masked) to ``context`` before the first query where memory is shorter, and queries to
        whole blocks (their outputs are dropped), so every block's window is a slice of the padded keys."""
        batch, heads, segment, d_head = q.shape
        context, block = self.config.context, _BAND_BLOCK
        blocks = -(-segment // block)
        front, tail = max(0, context - remembered), blocks * block - segment
        window = context + block
        k, v = (F.pad(t[:, :, max(0, remembered - context):], (0, 0, front, tail)).unfold(2, window, block)
                .transpose(-1, -2).reshape(batch, heads * blocks, window, d_head) for t in (k, v))
        q = F.pad(q, (0, 0, 0, tail)).reshape(batch, heads * blocks, block, d_head)
        mask = self._cached(("band", blocks, front, q.dtype), lambda: self._band_bias(blocks, front).to(q.dtype))
        # a 4-D mask: with a 3-D one PyTorch's CPU flash kernel declines and the math path runs
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=d_head ** -0.5)
        return attended.view(batch, heads, blocks * block, d_head)[:, :, :segment]

    def _band_bias(self, blocks: int, front: int) -> torch.Tensor:
        """The mask ``(1, H * blocks, _BAND_BLOCK, context + _BAND_BLOCK)`` of :meth:`_attend_banded`: query ``i`` of
        a block sees window key ``j`` at distance ``context + i - j`` (the same in every block), -inf beyond the
        context, downstream and in the first ``front`` (padding) keys."""
        context, block = self.config.context, _BAND_BLOCK
        distance, hidden = _distances(block, context + block, context, context, self.relative_bias.device)
        bias = self.relative_bias[:, distance].masked_fill(hidden, float("-inf"))  # (H, block, window)
        key = torch.arange(blocks, device=bias.device)[:, None] * block + torch.arange(context + block,
                                                                                      device=bias.device)
        bias = bias[:, None].masked_fill((key < front)[None, :, None, :], float("-inf"))  # (H, blocks, block, window)
        return bias.reshape(1, -1, block, context + block)

    def _bias(self, start: int, stop: int, low: int, high: int, remembered: int, dtype) -> torch.Tensor:
        """Additive attention bias ``(H, stop - start, high - low)`` of queries ``start..stop`` of the segment and keys
        ``low..high`` of memory + segment: the learned bias of each distance, -inf beyond the context and
        downstream."""
        return self._cached(("block", start, stop, low, high, remembered, dtype),
                            lambda: self._compute_bias(start, stop, low, high, remembered).to(dtype))

    def _cached(self, key: tuple, compute):
        """``compute()``, cached by ``key`` while there are no gradients, for as long as the bias parameter is not
        changed in place (blocks repeat from segment to segment, and so do their biases)."""
        if torch.is_grad_enabled():
            return compute()
        version = (self.relative_bias.data_ptr(), self.relative_bias._version)  # changes with every optimizer step
        cache = self._bias_cache  # one dict throughout: threads scoring side by side may replace it
        if cache.get("version") != version or len(cache) > _BIAS_CACHE_SIZE:
            cache = self._bias_cache = {"version": version}
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def _compute_bias(self, start: int, stop: int, low: int, high: int, remembered: int) -> torch.Tensor:
        distance, hidden = _distances(stop - start, high - low, start + remembered - low, self.config.context,
                                      self.relative_bias.device)
        return self.relative_bias[:, distance].masked_fill(hidden, float("-inf"))


_EXPLICIT_BLOCK = 64  # queries per block of written-out attention (training: fastest on CPU, measured)
_BAND_BLOCK = 32  # queries per block of the fused kernel (inference: fastest on CPU, measured)
_BIAS_CACHE_SIZE = 32  # biases kept per layer (a 1,024-nt segment written out has 16 blocks)


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
