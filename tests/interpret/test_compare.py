"""Tomtom comparisons: a planted motif is found on the right strand, random motifs match nothing, q-values are
Benjamini–Hochberg per query; on real databases a sigma A -10 box is found and the eukaryotic decoy is checked."""

import warnings

import numpy as np
import pandas as pd
import pytest

from pygenome.errors import InputError
from pygenome.interpret.compare import COLUMNS, best_matches, compare, false_match_rate
from pygenome.interpret.stats import benjamini_hochberg
from pygenome.io.motifs import Motif, read_motifs
from pygenome.io.package_data import DECOY
from tests.conftest import shared_file


def consensus_matrix(sequence: str, probability: float = 0.9) -> np.ndarray:
    """Shape (len, 4): ``probability`` on each letter of ``sequence``, the rest shared by the other three."""
    matrix = np.full((len(sequence), 4), (1 - probability) / 3)
    matrix[np.arange(len(sequence)), ["ACGT".index(letter) for letter in sequence]] = probability
    return matrix


def reverse_complement(matrix: np.ndarray) -> np.ndarray:
    return matrix[::-1, ::-1]


@pytest.fixture(scope="module")
def targets() -> list[Motif]:
    """40 random motifs (6 to 14 columns, Dirichlet(0.5) columns) and, 21st, TATAAT in GC...CG flanks."""
    rng = np.random.default_rng(2024)
    motifs = [Motif(f"random_{i}", rng.dirichlet(np.full(4, 0.5), size=rng.integers(6, 15)), description=f"r{i}")
              for i in range(40)]
    motifs.insert(20, Motif("planted", consensus_matrix("GCTATAATCG"), description="sigma70 -10 box"))
    return motifs


def test_a_planted_motif_is_found_on_both_strands(targets):
    queries = [Motif("forward", consensus_matrix("TATAAT", 0.85)),
               Motif("reverse", reverse_complement(consensus_matrix("TATAAT", 0.85)))]
    matches = compare(queries, targets, "toy")
    best = best_matches(matches)
    assert best["query"].tolist() == ["forward", "reverse"] and set(best["target"]) == {"planted"}
    assert (best["q_value"] < 0.05).all() and best["target_description"].eq("sigma70 -10 box").all()
    # forward: TATAAT faces columns 2-7 of GCTATAATCG; reverse: ATTATA faces columns 2-7 of its reverse complement
    assert best["strand"].tolist() == ["+", "-"]
    assert best["offset"].tolist() == [2, 2] and best["overlap"].tolist() == [6, 6]
    assert false_match_rate(matches) == 1.0


def test_random_queries_match_at_the_nominal_rate(targets):
    """Random queries have uniform p-values, so Benjamini–Hochberg at 0.05 gives about 5% of them a (false) match:
    "no match" holds per query, not for every one of many (seed 5 gave one of 6 random queries q = 0.014)."""
    rng = np.random.default_rng(7)
    queries = [Motif(f"noise_{i}", rng.dirichlet(np.ones(4), size=8)) for i in range(300)]
    matches = compare(queries, targets, "toy")
    p_values = matches["p_value"].to_numpy()
    assert (p_values < 0.05).mean() == pytest.approx(0.05, abs=0.01)
    assert (p_values < 0.01).mean() == pytest.approx(0.01, abs=0.003)
    assert 0.02 <= false_match_rate(matches) <= 0.08  # observed 0.047 (14 of 300)
    assert best_matches(matches)["query"].nunique() == round(false_match_rate(matches) * 300)


def test_table_layout_order_and_q_values(targets):
    queries = [Motif("z_first", consensus_matrix("TTGACA")), Motif("a_second", consensus_matrix("TATAAT"))]
    matches = compare(queries, targets, "toy")
    assert list(matches.columns) == COLUMNS and len(matches) == 2 * len(targets)
    assert matches["query"].drop_duplicates().tolist() == ["z_first", "a_second"]  # queries in the order given
    assert matches["database"].eq("toy").all() and set(matches["strand"]) <= {"+", "-"}
    for _, rows in matches.groupby("query", sort=False):
        assert sorted(rows["target"]) == sorted(target.name for target in targets)
        assert rows["p_value"].is_monotonic_increasing
        assert rows["q_value"].to_numpy() == pytest.approx(benjamini_hochberg(rows["p_value"].to_numpy()))
    assert matches.dtypes["offset"] == np.int64 and matches.dtypes["overlap"] == np.int64
    pd.testing.assert_frame_equal(matches, compare(queries, targets, "toy"))  # reproducible


def test_no_queries_no_targets_and_duplicate_names(targets):
    empty = compare([], targets, "toy")
    assert empty.empty and list(empty.columns) == COLUMNS
    assert np.isnan(false_match_rate(empty)) and best_matches(empty).empty
    with pytest.raises(InputError, match="database 'toy' has no target motifs"):
        compare([Motif("q", consensus_matrix("TATAAT"))], [], "toy")
    with pytest.raises(InputError, match="names must be unique; twin occur"):
        compare([Motif("twin", consensus_matrix("TATAAT")), Motif("twin", consensus_matrix("TTGACA"))], targets, "t")


def test_best_matches_and_false_match_rate_by_hand():
    rows = [("q1", "db1", "a", 0.001, 0.01), ("q1", "db1", "b", 0.001, 0.01), ("q1", "db2", "c", 0.01, 0.2),
            ("q2", "db1", "d", 0.02, 0.04), ("q2", "db1", "e", 0.0001, 0.002), ("q3", "db1", "f", 0.3, 0.9)]
    matches = pd.DataFrame(rows, columns=["query", "database", "target", "p_value", "q_value"])
    for column, value in (("target_description", ""), ("offset", 0), ("overlap", 6), ("strand", "+")):
        matches[column] = value
    matches = matches[COLUMNS]
    best = best_matches(matches)
    # q1/db1: a tie on p goes to the first listed; q1/db2 has no q <= 0.05; q2: the smallest p; q3: nothing
    assert list(zip(best["query"], best["database"], best["target"])) == [("q1", "db1", "a"), ("q2", "db1", "e")]
    assert list(best.columns) == COLUMNS
    assert len(best_matches(matches, q_threshold=0.5)) == 3
    assert false_match_rate(matches) == pytest.approx(2 / 3)
    assert false_match_rate(matches, q_threshold=0.005) == pytest.approx(1 / 3)


def test_the_bundled_decoy_is_all_of_jaspar_2024_core():
    decoy = read_motifs(DECOY)
    assert len(decoy) == 2346 and len({motif.description for motif in decoy}) == 2346
    assert (decoy[0].name, decoy[0].description, decoy[0].nsites) == ("AGL3", "MA0001.3 AGL3 ; From JASPAR", 95)


@pytest.mark.shared_data
def test_a_tataat_query_matches_the_sigma_a_minus_10_box_of_dbtbs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DBTBS's HrcA matrix has negative values and is left out
        dbtbs = read_motifs(shared_file("motifs/dbtbs_2015-11-06.meme"), skip_invalid=True)
    query = Motif("tataat", consensus_matrix("TATAAT", 0.9))
    best = best_matches(compare([query], dbtbs, "dbtbs")).iloc[0]
    # observed: p 4.8e-4 and q 0.041 among 87 targets, the next best (PerR) at q 0.23
    assert best["target"] == "5091_SigA_2_DBTBS_1.0_" and best["q_value"] < 0.05
    assert (best["strand"], best["offset"], best["overlap"]) == ("+", 0, 6)


@pytest.mark.shared_data
def test_the_eukaryotic_decoy_against_prokaryotic_motifs():
    """Not zero. Tomtom as memelite implements it (Euclidean column distance, complete scores, no minimum overlap)
    finds significant decoy matches for long, low-information, AT-rich prokaryotic matrices: Fis, ArcA and Fur match
    AT-rich eukaryotic matrices (Gsx MA1876.1, AGL1, REV) over 14-20 columns. Over all 109 RegulonDB motifs the rate
    is 0.32 (35 queries), highest for matrices of low information per column; high-information ones (LexA, TrpR,
    PurR) match nothing. So a decoy match flags a motif too vague to name, not a bug."""
    regulondb = {motif.name: motif for motif in read_motifs(shared_file("motifs/regulondb_2025-05.meme"))}
    handful = [regulondb[name] for name in ("CRP", "LexA", "FNR", "TrpR", "PurR", "Fur", "ArcA", "Fis")]
    matches = compare(handful, read_motifs(DECOY), "jaspar2024_decoy")
    assert set(best_matches(matches)["query"]) == {"Fur", "ArcA", "Fis"}
    assert false_match_rate(matches) == pytest.approx(3 / 8)
