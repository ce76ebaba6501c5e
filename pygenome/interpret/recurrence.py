"""Which head motifs recur across genomes: motifs grouped by the similarity of their matrices.

Two motifs are similar when, at their best ungapped alignment (either strand of the second, at least ``min_overlap``
columns), the mean Pearson correlation of their aligned columns' probabilities (the column score of STAMP, Mahony &
Benos 2007) reaches ``threshold``. Groups are the connected components of the similarity graph; a group recurs when
its motifs come from more than one genome.

:func:`groups` scores every pair at once (:func:`similar_pairs`: for each two motif widths, one matrix product per
offset and strand over all the motifs of those widths), and decides a pair whose vectorised score lies within
:data:`TIE_BAND` of the threshold with :func:`similarity` itself, so the groups are those of comparing each pair
with :func:`similarity` (which took a Python loop of numpy calls per pair: minutes at 2,000 motifs).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

TIE_BAND = 1e-9  # |vectorised score - threshold| below this: the pair is decided by similarity() (summation order)
BLOCK_CELLS = 2_000_000  # motif pairs scored per block (a few float64 arrays of this size at once)


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


def similar_pairs(matrices: list[np.ndarray], threshold: float = 0.75, min_overlap: int = 5):
    """The pairs ``(i, j)``, ``i < j``, of matrices at least ``threshold`` similar (:func:`similarity`), as two index
    arrays. Motifs are taken by width: for two widths, an offset and a strand of the second, the aligned columns
    are the same for every pair, so the sums of their correlations are one product of the standardised matrices'
    aligned columns, flattened (a block of motifs of one width against all of the other)."""
    count = len(matrices)
    if count < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    widths = np.array([len(m) for m in matrices], dtype=np.int64)
    by_width = {int(w): np.flatnonzero(widths == w) for w in np.unique(widths)}
    standard = {w: np.stack([_standardise(np.asarray(matrices[k], dtype=np.float64)) for k in members])
                for w, members in by_width.items()}
    reverse = {w: np.stack([_standardise(np.asarray(matrices[k], dtype=np.float64)[::-1, ::-1]) for k in members])
               for w, members in by_width.items()}
    found_i, found_j, unsure = [], [], []
    for m, rows_of in by_width.items():
        for n, columns_of in by_width.items():
            if n < m:
                continue
            needed = min(min_overlap, m, n)
            block = max(1, BLOCK_CELLS // len(columns_of))
            for start in range(0, len(rows_of), block):
                first = standard[m][start:start + block]
                best = np.full((len(first), len(columns_of)), -np.inf)
                for shift in range(-(n - needed), m - needed + 1):  # column k of the first against k - shift
                    low, high = max(0, shift), min(m, n + shift)
                    a = first[:, low:high].reshape(len(first), -1)
                    for second in (standard[n], reverse[n]):
                        sums = a @ second[:, low - shift:high - shift].reshape(len(second), -1).T
                        sums /= high - low
                        np.maximum(best, sums, out=best)
                i = rows_of[start:start + len(first), None].repeat(len(columns_of), axis=1)
                j = np.broadcast_to(columns_of[None, :], best.shape)
                pair = i < j if m == n else np.ones(best.shape, bool)  # each pair of one width once
                sure = pair & (best >= threshold + TIE_BAND)
                found_i.append(np.minimum(i[sure], j[sure]))
                found_j.append(np.maximum(i[sure], j[sure]))
                close = pair & (np.abs(best - threshold) < TIE_BAND)
                unsure += zip(np.minimum(i[close], j[close]).tolist(), np.maximum(i[close], j[close]).tolist())
    decided = [(i, j) for i, j in unsure if similarity(matrices[i], matrices[j], min_overlap) >= threshold]
    found_i.append(np.array([i for i, _ in decided], dtype=np.int64))
    found_j.append(np.array([j for _, j in decided], dtype=np.int64))
    return np.concatenate(found_i).astype(np.int64), np.concatenate(found_j).astype(np.int64)


def groups(matrices: list[np.ndarray], threshold: float = 0.75, min_overlap: int = 5) -> np.ndarray:
    """Group ids ``(len(matrices),)``: connected components of the pairs at least ``threshold`` similar, numbered
    0, 1, ... in order of their first member."""
    count = len(matrices)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    i, j = similar_pairs(matrices, threshold, min_overlap)
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(count, count))
    _, labels = connected_components(graph, directed=False)
    _, first = np.unique(labels, return_index=True)  # each component's first member
    numbering = np.empty(len(first), dtype=np.int64)
    numbering[np.argsort(first)] = np.arange(len(first))
    return numbering[labels]


def _groups_pairwise(matrices: list[np.ndarray], threshold: float = 0.75, min_overlap: int = 5) -> np.ndarray:
    """:func:`groups` by comparing each pair with :func:`similarity` in turn: the reference the tests hold
    :func:`groups` to (quadratic in Python calls; slow beyond a few hundred motifs)."""
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
