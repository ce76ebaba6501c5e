"""Does a head's motif occur near sites more often than near control positions?

A motif occurs in a window when its best log-odds score there (on the window's strand, every placement) reaches the
score whose chance of being reached by one placement in background sequence is ``p_value`` (1e-3 by default; the
exact null distribution of the score, computed as FIMO does on scores rounded to 1/``RESOLUTION`` bit). The
occurrences in site windows and in control windows make a 2×2 table; a one-sided Fisher exact test asks whether sites
hold the motif more often (the test DNABERT and HOMER use for motif enrichment).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

RESOLUTION = 100  # score steps per bit in the null distribution


def score_threshold(weights: np.ndarray, background: np.ndarray, p_value: float) -> float:
    """The lowest score (bits) of ``weights`` ``(width, 4)`` reached with probability at most ``p_value`` by a
    background sequence (bases drawn independently from ``background``)."""
    steps = np.round(weights * RESOLUTION).astype(np.int64)
    low = steps.min(axis=1)
    distribution = np.ones(1)
    for column in steps - low[:, None]:
        grown = np.zeros(distribution.size + column.max())
        for base in range(4):
            grown[column[base]:column[base] + distribution.size] += background[base] * distribution
        distribution = grown
    tail = np.cumsum(distribution[::-1])[::-1]  # P(score >= minimum + i)
    reachable = np.flatnonzero(tail <= p_value)
    first = int(reachable[0]) if reachable.size else distribution.size
    return (first + low.sum()) / RESOLUTION


def placement_scores(padded: np.ndarray, codes: np.ndarray, placements: int) -> np.ndarray:
    """Scores ``(..., placements)`` of weights ``padded`` ``(width, 5)`` (bits; the last column scores code 4, N) at
    each placement ``i`` (columns ``i … i + width − 1``) along the last axis of nucleotide codes ``(..., ≥ placements
    + width − 1)``."""
    scores = np.zeros(codes.shape[:-1] + (placements,))
    for column in range(padded.shape[0]):
        scores += padded[column][codes[..., column:column + placements]]
    return scores


def best_scores(weights: np.ndarray, window_codes: np.ndarray) -> np.ndarray:
    """The best score (bits) of ``weights`` ``(width, 4)`` at any placement inside each window ``(N, length)`` of
    nucleotide codes; placements over an N score ``-inf``."""
    width = weights.shape[0]
    padded = np.hstack([weights, np.full((width, 1), -np.inf)])  # (width, 5): code 4 (N) scores -inf
    placements = window_codes.shape[1] - width + 1
    if placements < 1:
        return np.full(len(window_codes), -np.inf)
    return placement_scores(padded, window_codes, placements).max(axis=1)


def fisher_enrichment(site_hits: np.ndarray, control_hits: np.ndarray) -> dict:
    """The one-sided Fisher exact test of occurrences at sites against controls (boolean arrays)."""
    table = [[int(site_hits.sum()), int((~site_hits).sum())], [int(control_hits.sum()), int((~control_hits).sum())]]
    odds_ratio, p_value = stats.fisher_exact(table, alternative="greater")
    return {"sites_with": table[0][0], "sites": len(site_hits), "controls_with": table[1][0],
            "controls": len(control_hits), "odds_ratio": float(odds_ratio), "p_value": float(p_value)}
