"""Held-out regions, ranking metrics and losses against hand-worked answers."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pygenome.errors import InputError
from pygenome.model.losses import focal_loss_sum, loss_sum, mean_loss, weighted_ce_sum
from pygenome.model.metrics import average_precision, precision_recall_curve, roc_auc, roc_curve
from pygenome.model.splits import SETS, set_mask, split_genome

CONTIGS = [{"name": "chrom", "length": 10_000}, {"name": "plasmid", "length": 1_000}]


def test_fraction_split_tiles_every_contig_in_the_asked_proportions():
    regions = split_genome("g", CONTIGS, (0.7, 0.1, 0.2), seed=3)
    for contig in CONTIGS:
        mask = set_mask(regions, "g", contig["name"], contig["length"])
        assert (mask >= 0).all()
        shares = np.bincount(mask, minlength=3) / contig["length"]
        assert shares == pytest.approx([0.7, 0.1, 0.2], abs=1e-3)
        for code in range(3):  # each set is one arc of the circle: at most one start along the contig
            inside = np.concatenate(([mask[-1] == code], mask == code))
            assert np.sum(np.diff(inside.astype(int)) == 1) <= 1


def test_splits_are_deterministic_and_differ_between_genomes_and_seeds():
    assert split_genome("g", CONTIGS, seed=1) == split_genome("g", CONTIGS, seed=1)
    assert split_genome("g", CONTIGS, seed=1) != split_genome("g", CONTIGS, seed=2)
    first = [r["start"] for r in split_genome("a", CONTIGS, seed=1)]
    assert first != [r["start"] for r in split_genome("b", CONTIGS, seed=1)]


def test_contig_split_for_many_contigs():
    many = [{"name": f"c{i}", "length": 1000} for i in range(30)]
    regions = split_genome("draft", many, (0.7, 0.1, 0.2), seed=0)
    assert all(r["start"] == 0 and r["end"] == 1000 for r in regions)
    counts = {name: sum(r["set"] == name for r in regions) for name in SETS}
    assert counts == {"train": 21, "validation": 3, "test": 6}


def test_bad_split_settings():
    with pytest.raises(InputError, match="summing to 1"):
        split_genome("g", CONTIGS, (0.5, 0.1, 0.1))
    with pytest.raises(InputError, match="some validation"):
        split_genome("g", CONTIGS, (0.9, 0.0, 0.1))
    with pytest.raises(InputError, match="split mode"):
        split_genome("g", CONTIGS, mode="random")


def test_roc_auc_with_ties_by_hand():
    labels = np.array([0, 0, 1, 1, 0, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.4, 0.4])
    # positives 0.35, 0.8, 0.4 against negatives 0.1, 0.4, 0.4: wins 1+0+0, 1+1+1, 1+.5+.5 → 6 of 9
    assert roc_auc(labels, scores) == pytest.approx(6 / 9)
    assert roc_auc(np.array([0, 1]), np.array([1.0, 1.0])) == 0.5
    assert np.isnan(roc_auc(np.zeros(3), np.arange(3)))
    fpr, tpr, _ = roc_curve(labels, scores)
    assert np.trapezoid(tpr, fpr) == pytest.approx(6 / 9)


def test_average_precision_by_hand():
    labels = np.array([1, 0, 1, 0, 0, 1])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    # hits at ranks 1, 3, 6: AP = (1 + 2/3 + 3/6) / 3
    assert average_precision(labels, scores) == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    assert recall[-1] == 1 and precision[0] == 1 and thresholds[0] == 0.9
    tied = average_precision(np.array([1, 0]), np.array([0.5, 0.5]))
    assert tied == pytest.approx(0.5)  # one threshold: precision 1/2 at recall 1


def test_focal_loss_is_cross_entropy_at_gamma_zero_and_ignores_masked_positions():
    torch.manual_seed(0)
    logits = torch.randn(20, 2)
    targets = torch.randint(0, 2, (20,))
    targets[::4] = -1
    valid = targets >= 0
    expected = F.cross_entropy(logits[valid], targets[valid], reduction="sum")
    torch.testing.assert_close(focal_loss_sum(logits, targets, 0.0), expected)
    assert focal_loss_sum(logits, targets, 2.0) < expected
    weighted = weighted_ce_sum(logits, targets, 1.0)
    torch.testing.assert_close(weighted, expected)


@pytest.mark.parametrize("loss", [("focal", 2.0, 1.0), ("focal", 0.0, 1.0), ("weighted_ce", 0.0, 30.0)])
def test_the_evaluation_loss_on_probabilities_is_the_training_loss_on_logits(loss):
    config = SimpleNamespace(loss=loss[0], focal_gamma=loss[1], positive_weight=loss[2])
    torch.manual_seed(1)
    logits = torch.randn(500, 2, dtype=torch.float64) * 3
    targets = (torch.rand(500) < 0.1).long()
    probabilities = torch.softmax(logits, dim=-1)[:, 1].numpy()
    training = float(loss_sum(logits, targets, config)) / len(targets)
    evaluation = mean_loss(probabilities, targets.numpy().astype(bool), config)
    assert evaluation == pytest.approx(training, rel=1e-6)  # training: float32


def test_contig_split_balances_unequal_contigs_and_auto_keeps_a_dominant_chromosome_whole():
    rng = np.random.default_rng(1)
    draft = [{"name": f"c{i}", "length": int(x)} for i, x in enumerate(rng.lognormal(11, 1, 40))]
    total = sum(c["length"] for c in draft)
    for seed in range(3):
        regions = split_genome("d", draft, seed=seed, mode="contig")
        shares = [sum(r["end"] - r["start"] for r in regions if r["set"] == s) / total for s in SETS]
        assert shares == pytest.approx([0.7, 0.1, 0.2], abs=0.05)
    complete = [{"name": "chromosome", "length": 4_600_000}] + [{"name": f"p{i}", "length": 5000} for i in range(19)]
    regions = split_genome("complete", complete)
    assert {r["set"] for r in regions if r["contig"] == "chromosome"} == set(SETS)  # cut within the chromosome


def test_metrics_of_nan_scores_are_nan():
    assert np.isnan(roc_auc(np.array([0, 1]), np.array([np.nan, 0.3])))
    assert np.isnan(average_precision(np.array([0, 1]), np.array([0.1, np.nan])))
