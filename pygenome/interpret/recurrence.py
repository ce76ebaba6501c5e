"""Which head motifs recur across genomes: motifs grouped by the similarity of their matrices.

Two motifs are similar when, at their best ungapped alignment (either strand of the second, at least ``min_overlap``
columns), the mean Pearson correlation of their aligned columns' probabilities (the column score of STAMP, Mahony &
Benos 2007) reaches ``threshold``. Groups are the connected components of the similarity graph; a group recurs when
its motifs come from more than one genome.
"""

from __future__ import annotations

import numpy as np


def _standardise(x: np.ndarray) -> np.ndarray:
    """Each column (row of ``x``) centred and scaled to unit norm, so that dot products are Pearson correlations; a
    constant column becomes zeros (it correlates 0)."""
    centred = x - x.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(centred, axis=1, keepdims=True)
    return np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 0)


def _column_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of ``a`` ``(m, 4)`` with every column of ``b`` ``(n, 4)``: ``(m, n)``; a
    constant column correlates 0."""
    return _standardise(a) @ _standardise(b).T


def aligned_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The mean column correlation of probability matrices ``a`` and ``b`` ``(n, 4)`` aligned as given (column i
    with column i, ``b`` on its strand): the score :func:`similarity` maximises over alignments."""
    return float((_standardise(a) * _standardise(b)).sum(axis=1).mean())


def similarity(a: np.ndarray, b: np.ndarray, min_overlap: int = 5) -> float:
    """The best mean column correlation of probability matrices ``a`` ``(m, 4)`` and ``b`` ``(n, 4)`` over every
    offset with at least ``min(min_overlap, m, n)`` aligned columns and both strands of ``b``."""
    overlap_needed = min(min_overlap, len(a), len(b))
    best = -1.0
    for oriented in (b, b[::-1, ::-1]):  # reverse complement: columns reversed, A<->T and C<->G (order A C G T)
        correlations = _column_correlations(a, oriented)
        for shift in range(-(len(oriented) - overlap_needed), len(a) - overlap_needed + 1):
            diagonal = np.diagonal(correlations, offset=-shift)
            if diagonal.size >= overlap_needed:
                best = max(best, float(diagonal.mean()))
    return best


def groups(matrices: list[np.ndarray], threshold: float = 0.75, min_overlap: int = 5) -> np.ndarray:
    """Group ids ``(len(matrices),)``: connected components of the pairs at least ``threshold`` similar, numbered
    0, 1, ... in order of their first member."""
    parent = list(range(len(matrices)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(matrices)):
        for j in range(i + 1, len(matrices)):
            if similarity(matrices[i], matrices[j], min_overlap) >= threshold:
                parent[max(root(i), root(j))] = min(root(i), root(j))
    roots = [root(i) for i in range(len(matrices))]
    numbering = {r: n for n, r in enumerate(dict.fromkeys(roots))}
    return np.array([numbering[r] for r in roots], dtype=np.int64)
