"""Attribution: how much each nucleotide upstream of a site makes the model score it (Koo & Ploenzke 2020, sec. 3).

For a site at label position ``p`` (on its strand, read 5'→3') the model's output at ``p + shift`` depends on the
``R = n_layers × (context + conv_kernel − 1)`` tokens before it, so its **window** is the ``L = R + 1`` nucleotides
``p + shift − R … p + shift``, one-hot ``(4, L)`` (A, C, G, T; N all zero; off a linear contig's ends N, around a
circular contig's origin wrapped). Column ``j`` lies ``j − (R − shift)`` nt from the site (negative: upstream). The
**score** explained is the output's log-odds of class 1, ``logit₁ − logit₀`` (unbounded and closer to linear than the
probability, as attribution methods assume).

Methods, each giving attributions ``(N, 4, L)``:

- ``saliency``: gradient × input, ``x ⊙ ∂score/∂x`` (only the present base of each position is non-zero).
- ``ism``: in-silico mutagenesis, ``score(x with base b at j) − score(x)`` for every position and every base other
  than the present one (the present base's entry is 0); ``3 × L`` variants per site, batched.
- ``integrated_gradients``: ``(x − x′) ⊙`` the mean gradient along the straight path from a reference ``x′`` to ``x``
  (trapezoid rule over ``steps`` intervals), with ``x′`` a dinucleotide-preserving shuffle of the window
  (:func:`dinucleotide_shuffle`, seeded per site), a plain shuffle, or uniform (0.25 everywhere). Completeness says
  the attributions sum to ``score(x) − score(x′)``; the difference (the completeness error) is returned per site.
"""

from __future__ import annotations

import numpy as np
import torch

from pygenome.io.genome import N_CODE, one_hot, reverse_complement, windows
from pygenome.model.inference import receptive_field


def window_length(config) -> int:
    """``L``: the nucleotides one output depends on."""
    return receptive_field(config) + 1


def site_windows(codes: np.ndarray, positions: np.ndarray, circular: bool, config) -> np.ndarray:
    """Codes ``(N, L)`` of the windows of oriented label positions ``positions`` ``(N,)`` on a strand's codes."""
    starts = np.asarray(positions, dtype=np.int64) + config.shift - receptive_field(config)
    return windows(codes, starts, window_length(config), circular)


def windows_at_sites(genome, sites, config) -> np.ndarray:
    """Codes ``(N, L)`` of the windows of ``sites`` (a table with contig, position and strand; forward coordinates),
    each read on its site's strand, in the table's order."""
    sites = sites.reset_index(drop=True)
    codes = np.empty((len(sites), window_length(config)), dtype=np.uint8)
    for (name, strand), group in sites.groupby(["contig", "strand"], sort=False):
        contig = genome.contig(name)
        forward = group["position"].to_numpy(np.int64)
        oriented = forward if strand == "+" else contig.length - 1 - forward
        strand_codes = genome.codes[name] if strand == "+" else reverse_complement(genome.codes[name])
        codes[group.index] = site_windows(strand_codes, oriented, contig.circular, config)
    return codes


def window_offsets(config) -> np.ndarray:
    """Offset of each window column from the site, nt ``(L,)`` (negative: upstream)."""
    return np.arange(window_length(config)) - (receptive_field(config) - config.shift)


def log_odds(model, x: torch.Tensor) -> torch.Tensor:
    """The score of each window: ``x`` one-hot ``(B, 4, L)`` → log-odds of class 1 at its last position ``(B,)``."""
    logits = model.forward_embedded(model.embed_one_hot(x))[0][:, -1]
    return logits[:, 1] - logits[:, 0]


def saliency(model, x: torch.Tensor) -> torch.Tensor:
    """Gradient × input ``(B, 4, L)``."""
    x = x.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(log_odds(model, x).sum(), x)
    return (gradient * x).detach()


@torch.no_grad()
def ism(model, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """In-silico mutagenesis ``(B, 4, L)``: the change of the score when each position holds each other base (0 for
    the present base; an N position gets all four)."""
    result = torch.zeros_like(x)
    width = x.shape[-1]
    for index in range(len(x)):
        reference = log_odds(model, x[index:index + 1])[0]
        edits = [(j, b) for j in range(width) for b in range(4) if x[index, b, j] != 1]
        for start in range(0, len(edits), batch_size):
            chunk = edits[start:start + batch_size]
            variants = x[index].expand(len(chunk), 4, width).clone()
            columns = torch.tensor([j for j, _ in chunk])
            bases = torch.tensor([b for _, b in chunk])
            variants[torch.arange(len(chunk)), :, columns] = 0
            variants[torch.arange(len(chunk)), bases, columns] = 1
            result[index, bases, columns] = log_odds(model, variants) - reference
    return result


def integrated_gradients(model, x: torch.Tensor, reference: torch.Tensor, steps: int = 50):
    """``(attributions (B, 4, L), completeness error (B,))`` along the straight path from ``reference`` to ``x``,
    gradients averaged by the trapezoid rule over ``steps`` intervals."""
    weights = torch.full((steps + 1,), 1.0 / steps)
    weights[[0, -1]] = 0.5 / steps
    total = torch.zeros_like(x)
    for alpha, weight in zip(torch.linspace(0, 1, steps + 1), weights):
        point = (reference + alpha * (x - reference)).requires_grad_(True)
        (gradient,) = torch.autograd.grad(log_odds(model, point).sum(), point)
        total += weight * gradient
    attributions = (x - reference) * total
    with torch.no_grad():
        difference = log_odds(model, x) - log_odds(model, reference)
    return attributions.detach(), (attributions.sum(dim=(1, 2)) - difference).detach()


def dinucleotide_shuffle(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random sequence with exactly the dinucleotide counts of ``codes`` ``(L,)``, and its first and last letters
    (Altschul & Erickson 1985, by a random Eulerian walk: Kandel et al. 1996). Ns are letters like the others."""
    codes = np.asarray(codes)
    if len(codes) < 3:
        return codes.copy()
    letters = np.unique(codes)
    last = codes[-1]
    edges = {letter: list(codes[1:][codes[:-1] == letter]) for letter in letters}  # successors, in order
    while True:  # a random tree of last exits towards the final letter, then the other exits shuffled
        last_exit = {}
        for letter in letters:
            if letter != last and edges[letter]:
                last_exit[letter] = edges[letter][rng.integers(len(edges[letter]))]
        if _reaches(last_exit, last):
            break
    order = {}
    for letter in letters:
        rest = list(edges[letter])
        if letter in last_exit:
            rest.remove(last_exit[letter])
        rng.shuffle(rest)
        order[letter] = rest + ([last_exit[letter]] if letter in last_exit else [])
    walk, letter = [codes[0]], codes[0]
    for _ in range(len(codes) - 1):
        letter = order[letter].pop(0)
        walk.append(letter)
    return np.array(walk, dtype=codes.dtype)


def _reaches(last_exit: dict, last) -> bool:
    """Whether following the last exits from every letter leads to ``last`` (the exits form a tree rooted there)."""
    for start in last_exit:
        seen, letter = set(), start
        while letter != last:
            if letter in seen or letter not in last_exit:
                return False
            seen.add(letter)
            letter = last_exit[letter]
    return True


def references(codes: np.ndarray, kind: str, seed: int) -> np.ndarray:
    """Reference one-hots ``(N, 4, L)`` float32 for windows ``codes`` ``(N, L)``: each window shuffled (its own
    generator, seeded by ``seed`` and its row) preserving dinucleotides or not, or ``uniform`` (0.25; N stays 0)."""
    if kind == "uniform":
        return np.where(codes[:, None, :] == N_CODE, 0.0, 0.25).astype(np.float32)
    shuffled = np.empty_like(codes)
    for row, window in enumerate(codes):
        rng = np.random.default_rng([seed, row])
        shuffled[row] = dinucleotide_shuffle(window, rng) if kind == "dinucleotide_shuffle" else rng.permutation(window)
    return one_hot(shuffled)
