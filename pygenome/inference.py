"""Scoring positions with a model: every position with its full upstream context, in batches of chunks.

A stretch of a strand is cut into chunks; each chunk is run from ``receptive field`` nt before its first output (or
from the start of a linear contig) in segments with memory, so each output sees exactly what it would see if the
whole strand were run from its start: a layer's output at ``t`` depends on its input at ``t - context - kernel + 1 ..
t``, so ``n_layers`` times that many nt of warm-up reach everything an output depends on. On a circular contig the
warm-up wraps around the origin. Outputs past the end of a linear contig see N.

The score of a position is the model's probability of class 1 at the output ``shift`` nt downstream of it.
"""

from __future__ import annotations

import numpy as np
import torch

from pygenome.genome import windows

SEGMENT = 1024  # nt per forward call


def receptive_field(config) -> int:
    """Upstream nt an output depends on."""
    return config.n_layers * config.memory_length


@torch.inference_mode()
def score_stretches(model, codes: np.ndarray, circular: bool, stretches, device="cpu", batch_size: int = 16,
                    chunk: int | None = None, autocast_dtype=None) -> list[np.ndarray]:
    """Class-1 probabilities (``float32``) for the label positions ``start..end`` of each stretch of one oriented
    strand (``codes``: ``(length,)``)."""
    config = model.config
    warmup = receptive_field(config)
    chunk = chunk or max(8192, 4 * warmup)
    jobs = []  # (stretch index, offset in the stretch, first output position, outputs, first token position)
    for number, (start, end) in enumerate(stretches):
        for offset in range(0, end - start, chunk):
            first_output = start + offset + config.shift
            outputs = min(chunk, end - start - offset)
            first_token = first_output - warmup if circular else max(0, first_output - warmup)
            jobs.append((number, offset, first_output, outputs, first_token))
    results = [np.empty(end - start, dtype=np.float32) for start, end in stretches]
    # chunks of equal shape run together; on a linear contig the first chunks have a shorter warm-up
    by_shape: dict[tuple[int, int], list] = {}
    for job in jobs:
        by_shape.setdefault((job[2] - job[4], job[3]), []).append(job)
    for (lead, outputs), group in by_shape.items():
        for batch_start in range(0, len(group), batch_size):
            batch = group[batch_start:batch_start + batch_size]
            tokens = np.stack([windows(codes, [job[4]], lead + outputs, circular)[0] for job in batch])
            logits = forward_in_segments(model, torch.from_numpy(tokens.astype(np.int64)).to(device),
                                         autocast_dtype)[:, lead:]
            probabilities = logits.float().softmax(-1)[..., 1].cpu().numpy()
            for job, row in zip(batch, probabilities):
                results[job[0]][job[1]:job[1] + job[3]] = row
    return results


def forward_in_segments(model, tokens: torch.Tensor, autocast_dtype=None) -> torch.Tensor:
    """Logits ``(B, T, n_classes)`` of tokens ``(B, T)``, run :data:`SEGMENT` nt at a time with memory."""
    pieces, memory = [], None
    with torch.autocast(tokens.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        for start in range(0, tokens.shape[1], SEGMENT):
            logits, memory, _ = model(tokens[:, start:start + SEGMENT], memory)
            pieces.append(logits)
    return torch.cat(pieces, dim=1)
