"""One definition of a background and what is measured against it (pygenome.interpret.composition)."""

import numpy as np

from pygenome.interpret.composition import base_composition, column_information, log_odds, smoothed_frequencies
from pygenome.io.genome import encode
from pygenome.io.motifs import information_content


def test_base_composition_of_a_genome_counts_both_strands_with_the_pseudocount():
    # AACG: A 2+1, C 1+1, G 1+1, T 0+1 → both strands A = T = 4, C = G = 4
    assert np.allclose(base_composition([encode("AACG")], pseudocount=1), 0.25)
    # AAAC (and an N, left out) over two contigs: A 4, C 2, G 1, T 1 and their complements
    assert np.allclose(base_composition([encode("AAN"), encode("AC")], pseudocount=1), np.array([5, 3, 3, 5]) / 16)
    assert np.allclose(base_composition([encode("AAAC")]), np.array([3, 1, 1, 3]) / 8)


def test_base_composition_of_windows_on_one_strand():
    windows = np.stack([encode("AAAC"), encode("ANAG")])  # (2, 4): A 5, C 1, G 1, N not counted
    assert np.allclose(base_composition(windows, both_strands=False), np.array([5, 1, 1, 0]) / 7)


def test_smoothed_frequencies_log_odds_and_information_agree():
    counts = np.array([[8.0, 0, 0, 0], [2, 2, 2, 2]])
    background = np.array([0.3, 0.2, 0.2, 0.3])
    frequencies = smoothed_frequencies(counts, background, pseudocount=1.0)
    assert np.allclose(frequencies.sum(axis=1), 1)
    assert np.allclose(frequencies[0], (counts[0] + background) / 9)
    assert np.allclose(log_odds(counts, background), np.log2(frequencies / background))
    assert np.array_equal(column_information(counts, background), information_content(frequencies, background))
    assert column_information(counts, background, pseudocount=0)[0] == np.log2(1 / 0.3)  # all A: -log2 p(A)
