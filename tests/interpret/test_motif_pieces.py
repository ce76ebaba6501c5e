"""The pieces of the motifs step against hand-computed answers: profiles and peaks, key windows on both strands,
frequency matrices and trimming, occurrence thresholds and enrichment, motif similarity."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from pygenome.interpret import recurrence
from pygenome.interpret.composition import column_information, log_odds
from pygenome.interpret.enrichment import best_scores, fisher_enrichment, score_threshold
from pygenome.interpret.extract import frequency_matrix, key_windows, top_keys, trim
from pygenome.interpret.profiles import add_significance, head_profile, peaks
from pygenome.interpret.recurrence import groups, similar_pairs, similarity
from pygenome.io.genome import decode, encode

UNIFORM = np.full(4, 0.25)


def test_head_profile_means_bands_and_one_sided_test():
    sites = np.array([[0.1, 0.6, 0.3], [0.1, 0.8, 0.1], [0.1, 0.7, 0.2], [0.1, 0.9, 0.0]])
    controls = np.array([[0.1, 0.1, 0.8], [0.1, 0.2, 0.7], [0.1, 0.3, 0.6], [0.1, 0.2, 0.7]])
    profile = head_profile(sites, controls, np.array([5, 4, 3]))
    np.testing.assert_allclose(profile["site_mean"], [0.1, 0.75, 0.15])
    half_width = 1.959964 * np.std([0.6, 0.8, 0.7, 0.9], ddof=1) / 2
    np.testing.assert_allclose(profile["site_high"][1] - profile["site_mean"][1], half_width, rtol=1e-5)
    assert profile["p_value"][1] < 1e-3  # sites attend to offset 4 far more than controls
    assert profile["p_value"][2] > 0.99  # less, one-sided
    assert profile["p_value"][0] == 1.0  # no variance at all: nothing to see


def test_peaks_bridge_gaps_of_one_offset_and_rank_by_excess():
    offsets = np.arange(-10, 1)
    site = np.full(offsets.size, 0.02)
    site[[3, 4, 6, 9]] = [0.20, 0.30, 0.10, 0.05]  # offsets -7, -6, -4 (one peak, gap bridged) and -1
    profile = pd.DataFrame({"offset": offsets, "site_mean": site, "control_mean": 0.02,
                            "p_value": np.where(site > 0.02, 1e-6, 0.5)})
    profile = add_significance(profile, alpha=0.01, min_fold=1.5)
    assert list(profile.loc[profile.significant == 1, "offset"]) == [-7, -6, -4, -1]
    found = peaks(profile)
    assert list(found["summit"]) == [-6, -1] and list(found["start"]) == [-7, -1]
    assert list(found["end"]) == [-4, -1] and list(found["width"]) == [4, 1]
    np.testing.assert_allclose(found["excess"], [0.18 + 0.28 + 0.0 + 0.08, 0.03])


def test_min_fold_keeps_significant_but_tiny_excesses_out():
    profile = pd.DataFrame({"offset": [0], "site_mean": [0.011], "control_mean": [0.010], "p_value": [1e-9]})
    assert add_significance(profile, min_fold=1.5)["significant"].item() == 0


def test_top_keys_pick_each_sites_best_key_inside_the_region_and_compare_with_controls():
    offset = np.array([2, 1, 0, -1, -2, -3])
    sites = np.array([[0.9, 0.0, 0.1, 0.5, 0.2, 0.2],   # 0.9 is outside the region -3..0
                      [0.0, 0.0, 0.1, 0.1, 0.7, 0.1],
                      [0.0, 0.0, 0.2, 0.1, 0.1, 0.1]])
    controls = np.tile([0.0, 0.0, 0.3, 0.2, 0.2, 0.2], (20, 1))
    keys, used = top_keys(sites, controls, offset, -3, 0, quantile=0.95)
    assert list(keys) == [-1, -2, 0]
    assert list(used) == [True, True, False]  # 0.2 at offset 0 is below the controls' 0.3 there


def test_key_windows_read_each_strand_5_to_3_and_wrap_circular_contigs():
    sequence = "ACGTTGCAAC"  # reverse complement: GTTGCAACGT
    codes = {"c": encode(sequence)}
    # + site at 6, key 2 upstream (position 4), kernel 3 ending at the key, flank 1: positions 1..5
    windows = key_windows(codes, {"c": False}, ["c"], [6], ["+"], [-2], kernel=3, flank=1)
    assert decode(windows[0]) == sequence[1:6]
    # - site at forward 3 = oriented 6 on the reverse complement: the same positions of GTTGCAACGT
    windows = key_windows(codes, {"c": False}, ["c"], [3], ["-"], [-2], kernel=3, flank=1)
    assert decode(windows[0]) == "GTTGCAACGT"[1:6]
    # near the start: a linear contig reads N, a circular one wraps
    assert decode(key_windows(codes, {"c": False}, ["c"], [1], ["+"], [0], 3, 1)[0]) == "NNACG"
    assert decode(key_windows(codes, {"c": True}, ["c"], [1], ["+"], [0], 3, 1)[0]) == "ACACG"


def test_frequency_matrix_information_and_trimming():
    windows = np.array([encode(word) for word in ("CTATAATG", "ATATAATC", "GTATAATA", "TTAAAATT")])
    counts = frequency_matrix(windows)
    np.testing.assert_array_equal(counts[0], [1, 1, 1, 1])
    np.testing.assert_array_equal(counts[3], [1, 0, 0, 3])
    information = column_information(counts, UNIFORM, pseudocount=0)
    assert information[0] == pytest.approx(0.0) and information[1] == pytest.approx(2.0)
    assert information[3] == pytest.approx(2 - (-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))))
    kept = trim(counts, UNIFORM, min_information=0.25)
    assert (kept.start, kept.stop) == (1, 7)  # the flanks (one of each base, or nearly) go


def test_score_threshold_matches_enumeration_of_every_word():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 20, size=(4, 4)).astype(float)
    background = np.array([0.3, 0.2, 0.2, 0.3])
    weights = log_odds(counts, background)
    scores, probabilities = [], []
    for word in itertools.product(range(4), repeat=4):
        scores.append(sum(np.round(weights[i, b] * 100) for i, b in enumerate(word)) / 100)
        probabilities.append(np.prod(background[list(word)]))
    scores, probabilities = np.array(scores), np.array(probabilities)
    for p_value in (0.001, 0.01, 0.1):
        threshold = score_threshold(weights, background, p_value)
        assert probabilities[scores >= threshold - 1e-9].sum() <= p_value
        below = scores[scores < threshold - 1e-9]
        assert probabilities[scores >= below.max() - 1e-9].sum() > p_value  # the lowest such score


def test_best_scores_take_the_best_placement_and_skip_n():
    weights = np.log2(np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]]) / 0.25)  # "AT"
    scores = best_scores(weights, np.array([encode("CCATC"), encode("CCNTC")]))
    assert scores[0] == pytest.approx(2 * math.log2(2.8))
    assert scores[1] == pytest.approx(math.log2(0.4) + math.log2(0.4))  # "TC" beats every placement over N


def test_fisher_enrichment_against_the_hypergeometric_tail():
    sites = np.array([True] * 8 + [False] * 2)
    controls = np.array([True] * 1 + [False] * 9)
    result = fisher_enrichment(sites, controls)
    # P(X >= 8), X the hits among the 10 sites when the 9 hits fall at random among 20 windows
    tail = sum(math.comb(9, k) * math.comb(11, 10 - k) for k in range(8, 10)) / math.comb(20, 10)
    assert result["p_value"] == pytest.approx(tail)
    assert (result["sites_with"], result["controls_with"]) == (8, 1)
    assert result["odds_ratio"] == pytest.approx((8 * 9) / (2 * 1))


def test_similarity_sees_reverse_complements_and_groups_connect():
    tataat = frequency_matrix(np.array([encode("TATAAT")])) * 0.9 + 0.025
    reverse = tataat[::-1, ::-1]  # ATTATA
    other = frequency_matrix(np.array([encode("GCGCGG")])) * 0.9 + 0.025
    assert similarity(tataat, reverse) == pytest.approx(1.0)
    assert similarity(tataat, other) < 0.5
    longer = np.vstack([other[:2], tataat])  # TATAAT inside a longer motif
    assert similarity(longer, tataat) == pytest.approx(1.0)
    assert list(groups([tataat, other, reverse, longer])) == [0, 1, 0, 0]


def _related_motifs(rng, count):
    """Noisy copies of a few random motifs, some reverse-complemented or trimmed: widths 4-13, groups of all sizes."""
    bases = [rng.dirichlet(np.full(4, 0.3), size=width) for width in rng.integers(4, 14, size=25)]
    motifs = []
    for _ in range(count):
        matrix = np.abs(bases[rng.integers(len(bases))] + rng.normal(0, 0.1, (1, 4)))
        matrix = np.abs(matrix + rng.normal(0, 0.1, matrix.shape))
        matrix = matrix / matrix.sum(axis=1, keepdims=True)
        if rng.random() < 0.3:
            matrix = matrix[::-1, ::-1]
        start, stop = rng.integers(0, 2), len(matrix) - rng.integers(0, 2)
        motifs.append(matrix[start:stop] if stop - start >= 4 else matrix)
    motifs.append(np.full((6, 4), 0.25))  # constant columns correlate 0
    return motifs


@pytest.mark.parametrize("threshold", [0.5, 0.75, 0.9])
def test_groups_are_those_of_comparing_every_pair_with_similarity(threshold, monkeypatch):
    """The vectorised pairs are exactly the pairs similarity() puts at or above the threshold; blocks of a few rows
    (BLOCK_CELLS) change nothing."""
    motifs = _related_motifs(np.random.default_rng(7), 120)
    expected = {(i, j) for i, j in itertools.combinations(range(len(motifs)), 2)
                if similarity(motifs[i], motifs[j]) >= threshold}
    assert set(zip(*(a.tolist() for a in similar_pairs(motifs, threshold)))) == expected
    monkeypatch.setattr(recurrence, "BLOCK_CELLS", 50)
    assert set(zip(*(a.tolist() for a in similar_pairs(motifs, threshold)))) == expected
    reference = recurrence._groups_pairwise(motifs, threshold)
    assert 1 < len(set(reference)) < len(motifs)  # groups of several motifs, and more than one group
    np.testing.assert_array_equal(groups(motifs, threshold), reference)


def test_a_pair_exactly_at_the_threshold_is_similar():
    """Scored to the last bit as similarity() scores it: a pair whose similarity is the threshold is grouped."""
    motifs = _related_motifs(np.random.default_rng(3), 2)[:2]
    at = similarity(motifs[0], motifs[1])
    assert list(groups(motifs, at)) == [0, 0]
    assert list(groups(motifs, np.nextafter(at, 2.0))) == [0, 1]
    assert list(groups([])) == [] and list(groups(motifs[:1])) == [0]
