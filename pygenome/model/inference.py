"""Scoring positions with a model: every position with its full upstream context, streamed in batches.

A stretch of a strand (label positions ``start..end``, oriented 5'→3') is cut into streams that run side by side as
one batch, segment after segment, each carrying its memory, so memory does not grow with the stretch. Each stream
starts ``receptive_field`` nt before its first output (or at the start of a linear contig): a layer's output at ``t``
depends on its input at ``t - context - kernel + 1 .. t``, so ``n_layers`` times that many nt reach everything an
output depends on, and every score equals the one a single forward over the whole strand gives (tested). On a circular
contig the warm-up wraps around the origin; outputs past the end of a linear contig see N.

The score of label position ``p`` is the model's probability of class 1 at the output ``shift`` nt downstream of it.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import torch

from pygenome.errors import InputError
from pygenome.io.genome import windows

SEGMENT = 1024  # nt per forward call and stream
STREAM_TOKENS = 1 << 16  # tokens per stream, warm-up included


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: the GPU when there is one, else the CPU; ``cuda`` fails clearly without one."""
    if name == "cuda" and not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        raise InputError(f"--device cuda: CUDA sees no GPU here (torch {torch.__version__}, {build}"
                         f"{f', CUDA_VISIBLE_DEVICES={visible}' if visible is not None else ''}); nothing was run on "
                         "the CPU instead. A task given a GPU needs the CUDA image and the GPU passed into its "
                         "container (docker --gpus, apptainer --nv: the gpu profile), or run it with --device cpu")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast_dtype(precision: str, device: torch.device):
    """The autocast dtype of ``precision`` on ``device``: bf16 for ``bf16``, and for ``auto`` on a GPU; else None
    (fp32)."""
    return torch.bfloat16 if precision == "bf16" or (precision == "auto" and device.type == "cuda") else None


def autocast(device_type: str, dtype):
    """The autocast context of :func:`autocast_dtype`'s ``dtype`` (disabled for None)."""
    return torch.autocast(device_type, dtype=dtype, enabled=dtype is not None)


def receptive_field(config) -> int:
    """Upstream nt an output depends on (the model config's ``receptive_field``)."""
    return config.receptive_field


def plan_streams(start: int, end: int, warmup: int, shift: int, circular: bool, stream_tokens: int):
    """Streams covering label positions ``start..end``: ``(first token, first label, labels)`` each, all with the same
    number of tokens (``tokens``, returned too) so that they run as one batch; the last may end early (its tail is
    padding).

    With a full warm-up a stream of ``tokens`` tokens scores ``tokens - warmup`` labels; one that starts at the start of
    a linear contig has no warm-up to read and scores ``tokens - shift`` instead.
    """
    clipped = not circular and start + shift - warmup < 0
    first_token = start + shift - warmup if not clipped else 0
    tokens = min(stream_tokens, end + shift - first_token)
    tokens = max(tokens, warmup + 1, shift + 1)
    streams, label = [], start
    while label < end:
        first = label + shift - warmup
        if not circular and first < 0:
            first = 0
        count = min(first + tokens - shift - label, end - label)
        streams.append((first, label, count))
        label += count
    return streams, tokens


@torch.inference_mode()
def score_stretches(model, codes: np.ndarray, circular: bool, stretches, device="cpu", batch_size: int = 16,
                    autocast_dtype=None, stream_tokens: int = STREAM_TOKENS,
                    progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Class-1 probabilities (``float32``) for the label positions ``start..end`` of each stretch of one oriented
    strand (``codes``: ``(length,)``). ``progress(n)`` is called with the label positions scored. On the CPU the
    batches run side by side, one per thread (:func:`_batch_map`)."""
    config = model.config
    warmup = receptive_field(config)
    results = [np.empty(end - start, dtype=np.float32) for start, end in stretches]
    by_tokens: dict[int, list] = {}
    for number, (start, end) in enumerate(stretches):
        streams, tokens = plan_streams(start, end, warmup, config.shift, circular, stream_tokens)
        by_tokens.setdefault(tokens, []).extend((number, start, *stream) for stream in streams)
    with _batch_map(torch.device(device)) as (batch_map, workers):
        batches = [(tokens, batch) for tokens, streams in by_tokens.items()
                   for batch in _split(streams, batch_size, workers)]

        def score(item) -> np.ndarray:
            tokens, batch = item
            token_array = np.stack([windows(codes, [first], tokens, circular)[0] for _, _, first, _, _ in batch])
            return _stream(model, torch.from_numpy(token_array.astype(np.int64)).to(device), autocast_dtype)

        for (_, batch), probabilities in zip(batches, batch_map(score, batches)):
            for (number, start, first, label, count), row in zip(batch, probabilities):
                lead = label + config.shift - first
                results[number][label - start:label - start + count] = row[lead:lead + count]
                if progress is not None:
                    progress(count)
    return results


@contextlib.contextmanager
def _batch_map(device: torch.device):
    """``(map, workers)`` for the batches of :func:`score_stretches`. On the CPU with ``n > 1`` threads: a pool of
    ``n`` worker threads, each running its batch's ops on one thread (PyTorch's intra-op threads are set to 1 meanwhile
    and restored after): batches are independent, and a batch per core scales where a batch's small ops spread over
    the cores do not (each op waits for its slowest thread). Elsewhere the built-in map in this thread."""
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1:
        yield map, 1
        return
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(threads) as pool:
            yield pool.map, threads
    finally:
        torch.set_num_threads(threads)


def _split(streams: list, batch_size: int, workers: int) -> list[list]:
    """``streams`` in batches of at most ``batch_size``, as even as can be, and as many as a multiple of ``workers``
    where there are enough streams (so that no worker runs a batch more than the others)."""
    count = max(1, min(len(streams), -(-len(streams) // batch_size // workers) * workers))
    size = max(1, -(-len(streams) // count))
    return [streams[start:start + size] for start in range(0, len(streams), size)]


@torch.inference_mode()
def _stream(model, tokens: torch.Tensor, autocast_dtype=None) -> np.ndarray:
    """Class-1 probabilities ``(B, T)`` of tokens ``(B, T)``, run :data:`SEGMENT` nt at a time with memory (in
    inference mode of its own: a worker thread does not share the caller's)."""
    probabilities, memory = torch.empty(tokens.shape, dtype=torch.float32), None
    with autocast(tokens.device.type, autocast_dtype):
        for start in range(0, tokens.shape[1], SEGMENT):
            logits, memory, _ = model(tokens[:, start:start + SEGMENT], memory)
            probabilities[:, start:start + SEGMENT] = logits.float().softmax(-1)[..., 1]
    return probabilities.numpy()


@torch.inference_mode()
def attention_at(model, codes: np.ndarray, circular: bool, labels: np.ndarray, device="cpu", batch_size: int = 32,
                 autocast_dtype=None):
    """Attention of every layer and head from the output that scores each label position to the keys it sees.

    ``labels``: oriented label positions ``(N,)``. Each is run from ``receptive_field`` nt upstream of its output
    (clipped at the start of a linear contig) with the output itself as the last, one-token segment, whose attention
    is returned by the same forward that scores it. Returns ``(attention, probabilities)``: ``attention`` is
    ``float16`` ``(N, n_layers, n_heads, context + 1)`` indexed by the key's distance upstream of the output (0: the
    output's own position; keys that do not exist, before a linear contig's start, are 0), ``probabilities`` ``(N,)``.
    """
    config = model.config
    warmup = receptive_field(config)
    width = config.context + 1
    attention = np.zeros((len(labels), config.n_layers, config.n_heads, width), dtype=np.float16)
    probabilities = np.empty(len(labels), dtype=np.float32)
    outputs = np.asarray(labels, dtype=np.int64) + config.shift
    firsts = outputs - warmup if circular else np.maximum(outputs - warmup, 0)
    order = np.argsort(outputs - firsts, kind="stable")  # group equal prefix lengths
    for batch_start in range(0, len(order), batch_size):
        chunk = order[batch_start:batch_start + batch_size]
        for prefix in np.unique(outputs[chunk] - firsts[chunk]):
            members = chunk[outputs[chunk] - firsts[chunk] == prefix]
            tokens = torch.from_numpy(windows(codes, firsts[members], int(prefix) + 1, circular).astype(np.int64))
            tokens = tokens.to(device)
            memory = None
            with autocast(tokens.device.type, autocast_dtype):
                for start in range(0, int(prefix), SEGMENT):
                    _, memory, _ = model(tokens[:, start:min(start + SEGMENT, int(prefix))], memory)
                logits, _, weights = model(tokens[:, int(prefix):], memory, need_weights=True)
            probabilities[members] = logits.float().softmax(-1)[:, 0, 1].cpu().numpy()
            for layer, layer_weights in enumerate(weights):
                row = layer_weights[:, :, 0, :].float().cpu().numpy()  # (B, H, keys): oldest key first
                keys = min(row.shape[-1], width)
                attention[members, layer, :, :keys] = row[..., ::-1][..., :keys]
    return attention, probabilities

