"""Classification figures over all positions: ROC AUC, average precision (PR AUC), and their curves.

``labels`` are 0/1 and ``scores`` any real numbers (higher: more likely 1), both of shape ``(n,)``. Tied scores are
handled as one threshold, so the figures do not depend on the order of the positions. A NaN score makes the figure
NaN.
"""

from __future__ import annotations

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the probability that a random positive outscores a random negative (ties: 1/2)."""
    labels = np.asarray(labels).astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if not positives or not negatives or np.isnan(scores).any():
        return float("nan")
    ranks = _average_ranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    ends = np.concatenate((starts[1:], [values.size]))
    average = (starts + ends + 1) / 2  # mean of 1-based ranks starts+1 .. ends
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def precision_recall_curve(labels: np.ndarray, scores: np.ndarray):
    """``(precision, recall, thresholds)`` at every distinct score, from the highest threshold down."""
    labels = np.asarray(labels).astype(bool)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    sorted_scores, sorted_labels = np.asarray(scores)[order], labels[order]
    last = np.flatnonzero(np.concatenate((sorted_scores[1:] != sorted_scores[:-1], [True])))
    true_positives = np.cumsum(sorted_labels)[last]
    predicted = last + 1
    return true_positives / predicted, true_positives / max(int(labels.sum()), 1), sorted_scores[last]


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve as the step sum ``Σ (R_n − R_{n−1}) P_n`` (no interpolation)."""
    if not np.asarray(labels).astype(bool).any() or np.isnan(scores).any():
        return float("nan")
    precision, recall, _ = precision_recall_curve(labels, scores)
    return float(np.sum(np.diff(np.concatenate(([0.0], recall))) * precision))


def roc_curve(labels: np.ndarray, scores: np.ndarray):
    """``(false positive rate, true positive rate, thresholds)`` at every distinct score, highest first, starting
    at (0, 0)."""
    labels = np.asarray(labels).astype(bool)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    sorted_scores, sorted_labels = np.asarray(scores)[order], labels[order]
    last = np.flatnonzero(np.concatenate((sorted_scores[1:] != sorted_scores[:-1], [True])))
    true_positives = np.cumsum(sorted_labels)[last]
    false_positives = last + 1 - true_positives
    return (np.concatenate(([0.0], false_positives / max(int((~labels).sum()), 1))),
            np.concatenate(([0.0], true_positives / max(int(labels.sum()), 1))),
            np.concatenate(([np.inf], sorted_scores[last])))
