"""The sequence under a head's peak: which key each site attends to most, the nucleotides there, and their matrix.

The rule, per head and peak: the search region is the peak's offsets widened by ``margin`` nt on both sides (motif
instances sit a few nt apart from site to site). Each site's *top key* is the key of the region it attends to most;
a site is *used* when that attention exceeds the ``quantile`` (0.95) of the control queries' attention at the same key
offset, i.e. the site attends there more than 95 % of random positions do. The window under a key covers what the
key reads at the first layer, its q/k/v convolution (the ``conv_kernel`` nt ending at the key), plus ``flank`` nt on
each side; it is read on the site's strand, 5'→3'. Windows of the used sites, aligned on their top keys, give the
position frequency matrix, whose flanks are trimmed while a column carries less than ``min_information`` bits.
"""

from __future__ import annotations

import numpy as np

from pygenome.interpret.composition import column_information
from pygenome.io.genome import N_CODE, reverse_complement, windows


def top_keys(sites: np.ndarray, controls: np.ndarray, offset: np.ndarray, start: int, end: int,
             quantile: float) -> tuple[np.ndarray, np.ndarray]:
    """Each site's top key in the offsets ``start..end`` (inclusive): ``(key offsets (N,), used (N,) bool)``.

    ``sites`` ``(N, keys)`` and ``controls`` ``(M, keys)``: one head's attention by key index; ``offset`` ``(keys,)``
    each key's position relative to the query."""
    region = np.flatnonzero((offset >= start) & (offset <= end))
    best = region[np.argmax(sites[:, region], axis=1)]
    threshold = np.quantile(controls[:, region].astype(np.float64), quantile, axis=0)
    used = sites[np.arange(len(sites)), best] > threshold[np.searchsorted(region, best)]
    return offset[best], used


def key_windows(codes: dict[str, np.ndarray], circular: dict[str, bool], contigs, positions, strands, key_offsets,
                kernel: int, flank: int) -> np.ndarray:
    """The windows under keys: ``(N, kernel + 2 * flank)`` nucleotide codes, read on each query's strand 5'→3'.

    ``contigs``, ``positions`` (forward, 0-based), ``strands`` describe the queries and ``key_offsets`` each key's
    position relative to its query on the query's strand; ``codes`` and ``circular`` are per contig. A window
    covers the key's convolution (``kernel`` nt ending at the key) and ``flank`` nt beyond on each side; positions off
    a linear contig's ends read as N."""
    width = kernel + 2 * flank
    result = np.full((len(positions), width), N_CODE, dtype=np.uint8)
    contigs, strands = np.asarray(contigs), np.asarray(strands)
    positions, key_offsets = np.asarray(positions, dtype=np.int64), np.asarray(key_offsets, dtype=np.int64)
    for name in np.unique(contigs):
        for strand in "+-":
            members = np.flatnonzero((contigs == name) & (strands == strand))
            if not members.size:
                continue
            sequence = codes[name] if strand == "+" else reverse_complement(codes[name])
            oriented = positions[members] if strand == "+" else len(sequence) - 1 - positions[members]
            starts = oriented + key_offsets[members] - (kernel - 1) - flank
            result[members] = windows(sequence, starts, width, circular[name])
    return result


def frequency_matrix(window_codes: np.ndarray) -> np.ndarray:
    """Counts of A, C, G, T per column of aligned windows ``(N, width)``: ``(width, 4)`` float64 (N not counted)."""
    counts = np.zeros((window_codes.shape[1], 4))
    for base in range(4):
        counts[:, base] = (window_codes == base).sum(axis=0)
    return counts


def trim(counts: np.ndarray, background: np.ndarray, min_information: float) -> slice:
    """The columns of ``counts`` kept once flanking columns under ``min_information`` bits are trimmed (an empty
    slice when none reaches it)."""
    informative = np.flatnonzero(column_information(counts, background) >= min_information)
    return slice(int(informative[0]), int(informative[-1]) + 1) if informative.size else slice(0, 0)
