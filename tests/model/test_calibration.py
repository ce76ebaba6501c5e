"""Calibrated site calls: the exhaustive threshold search agrees with counting the calls at each threshold."""

import numpy as np
import pandas as pd
import pytest

from pygenome.io.sites import fraction_near, local_maxima
from pygenome.model.calibration import calibrate, f1, precision_recall_at, site_outcomes


def _stretches(rng, count=3, length=4000, sites=40):
    """Noisy scores with a bump at each labelled site (some shifted by a few nt, some missing) and false bumps."""
    stretches = []
    for _ in range(count):
        scores = rng.beta(1, 12, length).astype(np.float32)
        labels = np.zeros(length, bool)
        positions = rng.choice(np.arange(50, length - 50, 60), sites, replace=False)
        labels[positions] = True
        for position in positions[: int(0.8 * sites)]:  # 80 % found, up to 4 nt off
            scores[position + rng.integers(-4, 5)] = rng.uniform(0.3, 1.0)
        scores[rng.choice(length, 15, replace=False)] = rng.uniform(0.2, 0.9, 15).astype(np.float32)
        stretches.append((scores, labels))
    return stretches


def _counted(stretches, threshold, distance=10, tolerance=10):
    """Precision and recall by calling sites and matching them as the evaluate step does."""
    called, known = [], []
    for number, (scores, labels) in enumerate(stretches):
        peaks = local_maxima(scores, threshold, distance, circular=False)
        called.append(pd.DataFrame({"contig": str(number), "strand": "+", "position": peaks}))
        known.append(pd.DataFrame({"contig": str(number), "strand": "+", "position": np.flatnonzero(labels)}))
    called, known = pd.concat(called), pd.concat(known)
    return fraction_near(called, known, tolerance), fraction_near(known, called, tolerance)


def test_calibrate_finds_the_best_f1_of_every_threshold():
    stretches = _stretches(np.random.default_rng(3))
    rule = calibrate(stretches)
    precision, recall = _counted(stretches, rule["min_score"])
    assert rule["validation"]["precision"] == pytest.approx(precision)
    assert rule["validation"]["recall"] == pytest.approx(recall)
    best = max(f1(*_counted(stretches, t)) for t in np.linspace(0.05, 0.99, 95))
    assert rule["validation"]["f1"] >= best - 1e-12  # no grid threshold does better
    assert rule["validation"]["f1"] > rule["default"]["f1"]  # and it beats the fixed 0.5 here
    assert rule["min_score"] == float(np.float32(rule["min_score"]))  # a float32 score: predict reproduces the calls


def test_outcomes_at_a_threshold_equal_counted_calls():
    stretches = _stretches(np.random.default_rng(5))
    outcomes = site_outcomes(stretches)
    for threshold in (0.1, 0.35, 0.5, 0.8):
        figures = precision_recall_at(outcomes, threshold)
        assert (figures["precision"], figures["recall"]) == pytest.approx(_counted(stretches, threshold))


def test_no_labelled_sites_gives_no_threshold():
    scores = np.random.default_rng(0).random(500).astype(np.float32)
    rule = calibrate([(scores, np.zeros(500, bool))])
    assert rule["min_score"] is None and rule["validation"] is None
