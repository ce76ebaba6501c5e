"""Motifs from attributions, anchored at their offset from the site (our documented method, the attribution twin of
the attention-head motifs; TF-MoDISco reads the same arrays for position-free seqlets).

1. **Contribution** of each window position ``(N, L)``: the attribution of the base present there (gradient × input,
   integrated gradients and DeepLIFT/SHAP: ``Σ_b attribution·one-hot``; in-silico mutagenesis: minus the mean change
   of the three edits, what it costs to lose the base, from the raw changes of :func:`ism_changes`).
2. **Profile**: the mean contribution by offset over the sites. Offsets whose mean exceeds the profile's median by
   more than ``mad_factor`` median absolute deviations are important; runs of them (gaps of one bridged) are
   **peaks**, ranked by their summed excess over the median; the ``max_peaks`` strongest are kept.
3. **Motif** of a peak: the nucleotides over the peak and ``flank`` nt either side, from the sites that use the peak
   most — those whose summed contribution over it is positive and at least its ``SITE_QUANTILE`` quantile over the
   sites (the top quarter: in real promoters only some sites hold a given box, and the others would dilute it) —
   counted into a matrix and trimmed of flanking columns under ``min_information`` bits against the windows'
   composition; kept with at least 4 columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pygenome.interpret.extract import frequency_matrix, trim
from pygenome.io.motifs import Motif, consensus

MAD_FACTOR = 6.0
MAX_PEAKS = 3
FLANK = 2
MIN_INFORMATION = 0.5  # bits per kept edge column
MIN_WIDTH = 4
SITE_QUANTILE = 0.75


def ism_changes(centred: np.ndarray, one_hot: np.ndarray) -> np.ndarray:
    """The raw in-silico mutagenesis ``(N, 4, L)`` — each edit's change of the score, 0 for the present base — of
    the centred one ``(N, 4, L)`` as written (:mod:`pygenome.interpret.attribution`): each entry less the present
    base's. At an N position (one-hot all zero) no base is present, and the entries stay centred."""
    return centred - (centred * one_hot).sum(axis=1, keepdims=True)


def contributions(method: str, attributions: np.ndarray, one_hot: np.ndarray) -> np.ndarray:
    """Contribution ``(N, L)`` of the present base at each position (see the module), of attributions and one-hot
    ``(N, 4, L)``."""
    if method == "ism":
        return -ism_changes(attributions, one_hot).sum(axis=1) / 3
    return (attributions * one_hot).sum(axis=1)


def profile_peaks(profile: np.ndarray, offsets: np.ndarray, mad_factor: float = MAD_FACTOR,
                  max_peaks: int = MAX_PEAKS) -> pd.DataFrame:
    """Peaks of a mean-contribution profile ``(L,)``: start, end, summit (offsets), excess; strongest first."""
    median = np.median(profile)
    spread = np.median(np.abs(profile - median)) or np.finfo(float).tiny
    important = profile > median + mad_factor * spread
    for index in range(1, len(important) - 1):  # bridge gaps of one
        important[index] |= important[index - 1] and important[index + 1]
    rows, index = [], 0
    while index < len(important):
        if not important[index]:
            index += 1
            continue
        end = index
        while end + 1 < len(important) and important[end + 1]:
            end += 1
        run = slice(index, end + 1)
        rows.append({"start": int(offsets[index]), "end": int(offsets[end]),
                     "summit": int(offsets[index + int(np.argmax(profile[run]))]),
                     "excess": float((profile[run] - median).sum())})
        index = end + 1
    table = pd.DataFrame(rows, columns=["start", "end", "summit", "excess"])
    return table.sort_values("excess", ascending=False, kind="stable").head(max_peaks).reset_index(drop=True)


def peak_motif(name: str, codes: np.ndarray, contribution: np.ndarray, offsets: np.ndarray, start: int, end: int,
               background: np.ndarray, flank: int = FLANK, min_information: float = MIN_INFORMATION):
    """``(motif, first offset, sites used)`` of a peak ``start..end`` (offsets), or ``(None, None, used)`` when too
    few columns are informative. ``codes`` ``(N, L)`` the windows; ``contribution`` ``(N, L)``."""
    core = (offsets >= start) & (offsets <= end)
    summed = contribution[:, core].sum(axis=1)
    used = (summed > 0) & (summed >= np.quantile(summed, SITE_QUANTILE))
    columns = np.flatnonzero((offsets >= start - flank) & (offsets <= end + flank))
    counts = frequency_matrix(codes[used][:, columns])
    kept = trim(counts, background, min_information)
    if kept.stop - kept.start < MIN_WIDTH or not used.any():
        return None, None, int(used.sum())
    motif = Motif(name, counts[kept], nsites=int(used.sum()),
                  description=f"attribution peak {start}..{end} nt from the site")
    return motif, int(offsets[columns[kept.start]]), int(used.sum())


def attribution_motifs(prefix: str, arrays: dict, one_hot: np.ndarray, offsets: np.ndarray) -> tuple:
    """Motifs of every method's attribution peaks: ``(motifs, table)``, a table row per peak (method, peak, start,
    end, summit, excess, motif, motif_start, motif_end, consensus, sites_used)."""
    codes = np.where(one_hot.sum(axis=1) > 0, one_hot.argmax(axis=1), 4)
    known = codes[codes < 4]
    background = np.bincount(known, minlength=4) / max(known.size, 1)
    motifs, rows = [], []
    for method, attributions in arrays.items():
        contribution = contributions(method, attributions, one_hot)
        for number, peak in enumerate(profile_peaks(contribution.mean(axis=0), offsets).itertuples(), start=1):
            name = f"{prefix}.{method}.{number}"
            motif, first, used = peak_motif(name, codes, contribution, offsets, peak.start, peak.end, background)
            rows.append({"method": method, "peak": number, "start": peak.start, "end": peak.end,
                         "summit": peak.summit, "excess": peak.excess, "motif": name if motif else None,
                         "motif_start": first, "motif_end": None if motif is None else first + motif.width - 1,
                         "consensus": consensus(motif) if motif else None, "sites_used": used})
            if motif is not None:
                motifs.append(motif)
    return motifs, pd.DataFrame(rows, columns=["method", "peak", "start", "end", "summit", "excess", "motif",
                                               "motif_start", "motif_end", "consensus", "sites_used"])
