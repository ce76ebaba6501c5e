"""Calibrated site calls: the score threshold that turns a model's per-nucleotide scores into sites.

Sites are called as ``pygenome predict`` calls them by default: local maxima of the scores, ``distance`` nt apart,
at least the threshold (:func:`pygenome.io.sites.local_maxima`). A called site is right when a labelled site lies
within ``tolerance`` nt of it on its strand (precision), and a labelled site is found when a called one lies that
close (recall), as ``pygenome evaluate`` counts them. :func:`calibrate` tries every threshold at which the calls
change (each peak's score) and keeps the one of best F1 on the stretches given, the model's validation regions at the
end of training; the model folder records it and predict uses it.
"""

from __future__ import annotations

import numpy as np

from pygenome.io.sites import distance_to_nearest, local_maxima

DEFAULT_MIN_SCORE = 0.5  # the threshold of a model folder without a calibrated one


def site_outcomes(stretches, distance: int = 10, tolerance: int = 10):
    """Per peak and per labelled site of ``stretches`` (``(scores (n,), labels (n,) bool)`` pairs, each a stretch of
    one strand, taken as linear): ``(peak scores (P,), peak is right (P,) bool, best peak score within tolerance of
    each labelled site (S,), -inf for none)``."""
    peak_scores, right, best = [], [], []
    for scores, labels in stretches:
        scores = np.asarray(scores, dtype=np.float64)
        peaks = local_maxima(scores, -np.inf, distance, circular=False)
        sites = np.flatnonzero(labels)
        peak_scores.append(scores[peaks])
        right.append(distance_to_nearest(peaks, sites) <= tolerance if sites.size else np.zeros(peaks.size, bool))
        nearby = np.full(sites.size, -np.inf)
        low = np.searchsorted(peaks, sites - tolerance, side="left")
        high = np.searchsorted(peaks, sites + tolerance, side="right")
        for step in range(int((high - low).max(initial=0))):  # peaks are > distance apart: a few per site at most
            has = low + step < high
            nearby[has] = np.maximum(nearby[has], scores[peaks[low[has] + step]])
        best.append(nearby)
    return np.concatenate(peak_scores), np.concatenate(right), np.concatenate(best)


def precision_recall_at(outcomes, threshold: float) -> dict:
    """Precision, recall, F1 and the counts of the calls at ``threshold`` (``outcomes``: :func:`site_outcomes`)."""
    peak_scores, right, best = outcomes
    called = peak_scores >= threshold
    precision = float(right[called].mean()) if called.any() else float("nan")
    recall = float((best >= threshold).mean()) if best.size else float("nan")
    return {"precision": precision, "recall": recall, "f1": f1(precision, recall),
            "predicted_sites": int(called.sum()), "labelled_sites": int(best.size)}


def calibrate(stretches, distance: int = 10, tolerance: int = 10) -> dict:
    """The site-calling rule of best F1 on ``stretches`` (see :func:`site_outcomes`): ``{"method": "peaks",
    "min_score", "distance", "tolerance", "chosen_by": "f1", "validation": figures at min_score, "default":
    figures at the uncalibrated 0.5}``; ``min_score`` is None when no stretch has a labelled site."""
    outcomes = site_outcomes(stretches, distance, tolerance)
    peak_scores, right, best = outcomes
    rule = {"method": "peaks", "distance": distance, "tolerance": tolerance, "chosen_by": "f1"}
    if not best.size or not peak_scores.size:
        return {**rule, "min_score": None, "validation": None,
                "default": precision_recall_at(outcomes, DEFAULT_MIN_SCORE)}
    order = np.argsort(peak_scores, kind="stable")[::-1]
    thresholds = peak_scores[order]
    last = np.r_[thresholds[1:] != thresholds[:-1], True]  # the last peak of each tie: all peaks at that score called
    called = np.arange(1, thresholds.size + 1)[last]
    precision = np.cumsum(right[order])[last] / called
    found = np.sort(best)
    recall = (found.size - np.searchsorted(found, thresholds[last], side="left")) / found.size
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    choice = int(np.argmax(scores))  # the highest threshold among equal F1 (thresholds descend)
    min_score = float(np.float32(thresholds[last][choice]))
    return {**rule, "min_score": min_score, "validation": precision_recall_at(outcomes, min_score),
            "default": precision_recall_at(outcomes, DEFAULT_MIN_SCORE)}


def f1(precision: float, recall: float) -> float:
    """The harmonic mean of precision and recall (0 when both are 0, NaN when either is)."""
    if np.isnan(precision) or np.isnan(recall):
        return float("nan")
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
