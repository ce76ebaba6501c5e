"""Attribution: how much each nucleotide upstream of a site makes the model score it (Koo & Ploenzke 2020, sec. 3).

For a site at label position ``p`` (on its strand, read 5'→3') the model's output at ``p + shift`` depends on the
``R = n_layers × (context + conv_kernel − 1)`` tokens before it, so its **window** is the ``L = R + 1`` nucleotides
``p + shift − R … p + shift``, one-hot ``(4, L)`` (A, C, G, T; N all zero; off a linear contig's ends N, around a
circular contig's origin wrapped). Column ``j`` lies ``j − (R − shift)`` nt from the site (negative: upstream). The
**score** explained is the output's log-odds of class 1, ``logit₁ − logit₀`` (unbounded and closer to linear than the
probability, as attribution methods assume).

Methods, each giving attributions ``(N, 4, L)``; saliency, ISM and DeepLIFT/SHAP are tangermeme's (Schreiber), called
on :class:`Score`, the model seen as a map from one-hot ``(B, 4, L)`` to its score ``(B, 1)``:

- ``saliency``: gradient × input, ``x ⊙ ∂score/∂x`` (only the present base of each position is non-zero;
  tangermeme's ``saliency`` without its gradient correction, so the plain gradient × input).
- ``ism``: in-silico mutagenesis, **centred**: with ``Δ[b, j] = score(x with base b at j) − score(x)`` (0 for the
  present base), ``Δ[b, j] − mean_b′ Δ[b′, j]``, so each position's four entries sum to 0 (tangermeme's
  ``saturation_mutagenesis``, hypothetical). These are the hypothetical contributions TF-MoDISco reads: projected on
  the one-hot, the present base's entry is minus the mean change of the four bases (uncentred, it is 0 and the
  projection vanishes). The raw changes are the entries less the present base's
  (:func:`pygenome.interpret.attributed.ism_changes`; at an N position, where no base is present, only up to their
  mean). ``3 × L`` variants per site, batched.
- ``integrated_gradients``: ``(x − x′) ⊙`` the mean gradient along the straight path from a reference ``x′`` to ``x``
  (trapezoid rule over ``steps`` intervals), with ``x′`` a dinucleotide-preserving shuffle of the window
  (:func:`dinucleotide_shuffle`, seeded per site), a plain shuffle, or uniform (0.25 everywhere). Completeness says
  the attributions sum to ``score(x) − score(x′)``; the difference (the completeness error) is returned per site.
  Our own: tangermeme has no integrated gradients.
- ``deep_lift_shap``: DeepLIFT's rescale rule averaged over ``K`` references (DeepSHAP; tangermeme's
  ``deep_lift_shap``), the references drawn as for integrated gradients (draw 0 is integrated gradients' reference),
  written as hypothetical contributions (each base's contribution had it been present, as TF-MoDISco reads them;
  projected on the one-hot they sum to the mean of ``score(x) − score(x′ₖ)``, the completeness error again returned).
  Exact only where every nonlinear operation has a DeepLIFT rule that sees it: for the ``cnn`` model (its ReLUs and
  max-pool are modules, one per use), not for the transformer, whose attention multiplies two
  input-dependent tensors (``q·kᵀ``, then the weights by ``v``) and normalises them by a softmax inside its own code,
  which no rule sees: treated as linear, the attributions would not sum to the score difference
  (:func:`deep_lift_score` refuses it).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from tangermeme.deep_lift_shap import deep_lift_shap as tangermeme_deep_lift_shap
from tangermeme.saliency import saliency as tangermeme_saliency
from tangermeme.saturation_mutagenesis import saturation_mutagenesis
from torch import nn

from pygenome.errors import InputError
from pygenome.io.genome import N_CODE, one_hot, reverse_complement, windows
from pygenome.model.cnn import CNN
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


class Score(nn.Module):
    """A model as tangermeme's functions call it: one-hot ``(B, 4, L)`` → :func:`log_odds` ``(B, 1)``."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.train(model.training)  # tangermeme's functions restore this mode, and with it the model's

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return log_odds(self.model, x)[:, None]


def _device(model) -> torch.device:
    """The device the model's parameters are on (tangermeme would otherwise move it to CUDA when there is one)."""
    return next(model.parameters()).device


def saliency(model, x: torch.Tensor) -> torch.Tensor:
    """Gradient × input ``(B, 4, L)`` of one-hot ``x`` ``(B, 4, L)``."""
    return tangermeme_saliency(Score(model), x, batch_size=len(x), gradient_correction=False, device=_device(model))


def ism(model, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Centred in-silico mutagenesis ``(B, 4, L)`` of one-hot ``x`` ``(B, 4, L)``: each position's changes of the
    score when it holds each base (0 for the present base; an N position gets all four), less their mean over the
    four bases. ``batch_size`` variants per forward pass. Without tangermeme's fastISM, whose use depends on a timing
    and whose results match only to rounding: the same inputs give the same bytes."""
    return saturation_mutagenesis(Score(model), x, batch_size=batch_size, target=0, hypothetical=True, fast=False,
                                  device=_device(model))


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


def deep_lift_score(model) -> nn.Module:
    """The model's score as DeepLIFT/SHAP computes it exactly (one-hot ``(B, 4, L)`` → ``(B, 1)``), or an
    :class:`~pygenome.errors.InputError` for a model with nonlinear operations no DeepLIFT rule sees."""
    if isinstance(model, CNN):  # its ReLUs and pool are modules, one per use: DeepLIFT's rules see each
        return Score(model)
    raise InputError(f"deep_lift_shap supports the cnn model only, not the {model.config.kind}: its attention "
                     "multiplies two input-dependent tensors (q·kᵀ, then the weights by v) and normalises them by a "
                     "softmax inside its own code, which no DeepLIFT rule sees (tangermeme's rules hook modules: "
                     "ReLU, GELU, Softmax, LayerNorm, MaxPool, its BilinearOp), so its attributions would not sum to "
                     "the score difference; use integrated_gradients for a reference-based method")


def deep_lift_shap(score: nn.Module, x: torch.Tensor, reference: torch.Tensor, batch_size: int = 256):
    """``(hypothetical attributions (B, 4, L), completeness error (B,))`` of one-hot ``x`` ``(B, 4, L)`` by
    DeepLIFT/SHAP over references ``(B, K, 4, L)``, for ``score`` from :func:`deep_lift_score`; ``batch_size``
    sequence–reference pairs per pass. The error is the projected attributions' sum less the mean of
    ``score(x) − score(x′ₖ)``."""
    device = _device(score)
    with warnings.catch_warnings():  # its one-hot check refuses N columns (all zero) and the uniform reference
        warnings.filterwarnings("ignore", message=".* must be one-hot encoded")
        attributions = tangermeme_deep_lift_shap(score, x, references=reference, batch_size=batch_size,
                                                 hypothetical=True, only_warn=True, device=device)
    with torch.no_grad():
        difference = score(x)[:, 0] - score(reference.flatten(0, 1))[:, 0].view(reference.shape[:2]).mean(dim=1)
    return attributions, (attributions * x).sum(dim=(1, 2)) - difference


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


def references(codes: np.ndarray, kind: str, seed: int, draw: int = 0, first_row: int = 0) -> np.ndarray:
    """Reference one-hots ``(N, 4, L)`` float32 for windows ``codes`` ``(N, L)``, rows ``first_row …`` of a table:
    each window shuffled (its own generator, seeded by ``seed``, its row and, past the first, the ``draw``) preserving
    dinucleotides or not, or ``uniform`` (0.25; N stays 0)."""
    if kind == "uniform":
        return np.where(codes[:, None, :] == N_CODE, 0.0, 0.25).repeat(4, axis=1).astype(np.float32)
    shuffled = np.empty_like(codes)
    for row, window in enumerate(codes):
        rng = np.random.default_rng([seed, first_row + row, draw] if draw else [seed, first_row + row])
        shuffled[row] = dinucleotide_shuffle(window, rng) if kind == "dinucleotide_shuffle" else rng.permutation(window)
    return one_hot(shuffled)
