"""Base composition and what is measured against it: the one definition of a background, of a count matrix's
smoothed frequencies, of its log-odds weights and of its information content.

A **background** is the four frequencies of A, C, G, T ``(4,)``. A genome's is counted over both strands (the −
strand holds T for A and G for C, so A = T and C = G); the windows an analysis reads give one of their own, on the
strand read. A count matrix ``(width, 4)`` is smoothed by a ``pseudocount`` spread as the background:
``(counts + pseudocount × background) / (column total + pseudocount)``.
"""

from __future__ import annotations

import numpy as np

from pygenome.io.genome import N_CODE
from pygenome.io.motifs import information_content


def base_composition(codes, pseudocount: float = 0.0, both_strands: bool = True) -> np.ndarray:
    """Frequencies ``(4,)`` (A, C, G, T) of base codes: an array of any shape or an iterable of arrays (e.g. a
    genome's ``codes.values()``), Ns left out, ``pseudocount`` added to each base's count; ``both_strands``: the
    reverse complement's bases counted too."""
    arrays = [codes] if isinstance(codes, np.ndarray) else list(codes)
    counts = sum(np.bincount(np.ravel(array), minlength=N_CODE + 1)[:4] for array in arrays) + pseudocount
    if both_strands:
        counts = counts + counts[::-1]
    return counts / counts.sum()


def smoothed_frequencies(counts: np.ndarray, background: np.ndarray, pseudocount: float = 1.0) -> np.ndarray:
    """Frequencies ``(width, 4)`` of ``counts`` ``(width, 4)`` with ``pseudocount`` spread as ``background``."""
    return (counts + pseudocount * background) / (counts.sum(axis=1, keepdims=True) + pseudocount)


def log_odds(counts: np.ndarray, background: np.ndarray, pseudocount: float = 1.0) -> np.ndarray:
    """Position weight matrix in bits, ``log2(frequency / background)`` ``(width, 4)``, of ``counts`` ``(width, 4)``
    smoothed by ``pseudocount``."""
    return np.log2(smoothed_frequencies(counts, background, pseudocount) / background)


def column_information(counts: np.ndarray, background: np.ndarray, pseudocount: float = 1.0) -> np.ndarray:
    """Information content (bits) of each column of ``counts`` ``(width, 4)`` against ``background`` ``(4,)``: the
    relative entropy of the column's smoothed frequencies to the background ``(width,)``."""
    return information_content(smoothed_frequencies(counts, background, pseudocount), background)
