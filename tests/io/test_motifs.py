"""Motif matrices, MEME minimal format and TRANSFAC: hand-computed values, round trips, error messages, real files."""

import gzip
import re
import warnings

import numpy as np
import pytest
from memelite.io import read_meme

from pygenome.errors import InputError
from pygenome.io.motifs import Motif, consensus, information_content, probabilities, read_motifs, write_meme
from tests.conftest import shared_file

MEME_HEADER = ("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
               "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n")  # 9 lines: MOTIF on line 10

TRANSFAC = """VV  a version header without a matrix
XX
//
AC  MA9999.1
XX
ID  Toy
XX
DE  MA9999.1 Toy ; made up
PO\tA\tC\tG\tT
01\t8.0\t0.0\t1.0\t1.0\tA
02\t0.0\t10.0\t0.0\t0.0\tC
03\t2.0\t2.0\t2.0\t4.0\tN
XX
CC  tax_group:none
//
AC  MA9998.1
P0  T G C A
01  1 0 0 3
02  0 2 2 0
//
"""


def motif_file(tmp_path, text: str, name: str = "motifs.meme", compress: bool = False):
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode(), mtime=0) if compress else text.encode())
    return path


def test_probabilities_consensus_and_information_content_by_hand():
    motif = Motif("toy", [[8, 0, 1, 1], [0, 10, 0, 0], [2, 2, 2, 4]], nsites=10)
    assert motif.width == 3 and motif.counts.dtype == np.float64 and not motif.counts.flags.writeable
    assert probabilities(motif) == pytest.approx(np.array([[0.8, 0, 0.1, 0.1], [0, 1, 0, 0], [0.2, 0.2, 0.2, 0.4]]))
    # a pseudocount of 1 in each cell: row 2 is (1, 11, 1, 1) / 14
    assert probabilities(motif, pseudocount=1.0)[1] == pytest.approx(np.array([1, 11, 1, 1]) / 14)
    assert consensus(motif) == "ACT"
    assert consensus(Motif("tie", [[1, 1, 0, 0]])) == "A"  # a tie goes to the first of A C G T
    # 1 bit per halving: (1,0,0,0) 2 bits, (.5,.5,0,0) 1 bit, uniform 0
    columns = np.array([[1, 0, 0, 0], [0.5, 0.5, 0, 0], [0.25] * 4])
    assert information_content(columns) == pytest.approx([2.0, 1.0, 0.0])
    # against an AT-rich background an A is less surprising: log2(1 / 0.4)
    assert information_content(columns[:1], (0.4, 0.1, 0.1, 0.4)) == pytest.approx([np.log2(2.5)])


def test_motif_checks_its_matrix():
    with pytest.raises(InputError, match=r"'bad': counts must have shape \(width, 4\)"):
        Motif("bad", np.ones((5, 3)))
    with pytest.raises(InputError, match="'neg': counts must be finite and 0 or more"):
        Motif("neg", [[1, -1, 0, 0]])
    with pytest.raises(InputError, match="'zero': position 2 has no counts; use a pseudocount"):
        probabilities(Motif("zero", [[1, 0, 0, 0], [0, 0, 0, 0]]))
    assert probabilities(Motif("zero", [[1, 0, 0, 0], [0, 0, 0, 0]]), 0.5)[1] == pytest.approx([0.25] * 4)


def test_write_meme_gives_exact_deterministic_bytes(tmp_path):
    motifs = [Motif("m1", [[8, 0, 1, 1], [0, 10, 0, 0]], nsites=10, description="toy motif"),
              Motif("m2", [[1, 1, 1, 0]])]
    path = tmp_path / "out.meme"
    write_meme(path, motifs)
    assert path.read_text() == (
        "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\n"
        "A 0.250000 C 0.250000 G 0.250000 T 0.250000\n\n"
        "MOTIF m1 toy motif\nletter-probability matrix: alength= 4 w= 2 nsites= 10 E= 0\n"
        " 0.800000  0.000000  0.100000  0.100000\n 0.000000  1.000000  0.000000  0.000000\n\n"
        "MOTIF m2\nletter-probability matrix: alength= 4 w= 1 nsites= 0 E= 0\n"
        " 0.333333  0.333333  0.333333  0.000000\n\n")
    first = path.read_bytes()
    write_meme(path, motifs)
    assert path.read_bytes() == first


def test_meme_round_trip_through_memelite_and_our_reader(tmp_path):
    rng = np.random.default_rng(11)
    motifs = [Motif(f"motif_{i}", rng.dirichlet(np.ones(4), size=width), nsites=20 + i, description=f"head {i}")
              for i, width in enumerate((6, 12, 9))]
    path = tmp_path / "round.meme"
    write_meme(path, motifs, background=(0.3, 0.2, 0.2, 0.3))
    theirs = read_meme(str(path))
    assert list(theirs) == ["motif_0 head 0", "motif_1 head 1", "motif_2 head 2"]
    ours = read_motifs(path)
    for motif, matrix, back in zip(motifs, theirs.values(), ours):
        assert matrix.shape == (4, motif.width)
        np.testing.assert_allclose(matrix.T, probabilities(motif), atol=5e-7)
        np.testing.assert_allclose(back.counts, probabilities(motif), atol=5e-7)
        assert (back.name, back.description, back.nsites) == (motif.name, motif.description, motif.nsites)
    assert "A 0.300000 C 0.200000 G 0.200000 T 0.300000" in path.read_text()


def test_write_meme_writes_whole_or_not_at_all(tmp_path):
    path = tmp_path / "out.meme"
    path.write_text("earlier output\n")
    with pytest.raises(InputError, match=re.escape(f"{path}: motif 'two words'") + ".*cannot contain whitespace"):
        write_meme(path, [Motif("fine", [[1, 0, 0, 0]]), Motif("two words", [[1, 0, 0, 0]])])
    assert path.read_text() == "earlier output\n" and [p.name for p in tmp_path.iterdir()] == ["out.meme"]
    write_meme(path, [])  # the header alone: memelite reads no motifs from it
    assert read_meme(str(path)) == {} and path.read_text().startswith("MEME version 4")
    with pytest.raises(InputError, match="background must be four positive frequencies"):
        write_meme(path, [Motif("fine", [[1, 0, 0, 0]])], background=(0.5, 0.5, 0, 0))


@pytest.mark.parametrize("compress", [False, True])
def test_transfac_records_by_hand(tmp_path, compress):
    # the gzip copy is named .txt: gzip is told by its magic bytes, not by the name
    path = motif_file(tmp_path, TRANSFAC, "matrices.txt" if compress else "matrices.transfac", compress)
    toy, second = read_motifs(path)
    assert (toy.name, toy.description, toy.nsites) == ("Toy", "MA9999.1 Toy ; made up", 10)
    np.testing.assert_array_equal(toy.counts, [[8, 0, 1, 1], [0, 10, 0, 0], [2, 2, 2, 4]])
    # no ID: named by its AC; columns given as T G C A are put back in A C G T order
    assert (second.name, second.description, second.nsites) == ("MA9998.1", "MA9998.1", 4)
    np.testing.assert_array_equal(second.counts, [[3, 0, 0, 1], [0, 2, 2, 0]])


def test_meme_details(tmp_path):
    text = MEME_HEADER + (
        "MOTIF one   first  motif\nletter-probability matrix: alength= 4 nsites= 7 E= 1.2e-05\n"
        " 0.5 0.5 0 0\n 0.25 0.25 0.25 0.25\n\n"
        "log-odds matrix: alength= 4 w= 1\n 1.0 -2.0 -2.0 1.0\nURL http://example.org\n\n"
        "MOTIF two\nletter-probability matrix: alength= 4 w= 1\n 0.0 0.0 0.99 0.0\n")
    one, two = read_motifs(motif_file(tmp_path, text, "x.meme.gz", compress=True))
    assert (one.name, one.description, one.nsites, one.width) == ("one", "first motif", 7, 2)
    assert (two.name, two.description, two.nsites) == ("two", "", 0)
    np.testing.assert_array_equal(two.counts, [[0, 0, 0.99, 0]])


@pytest.mark.parametrize("text, message", [
    ("", "the motif file is empty"),
    ("just some text\n", "neither MEME minimal format .* nor TRANSFAC"),
    (MEME_HEADER, "no motifs in the file"),
    (MEME_HEADER.replace("ACGT", "ACDEFGHIKLMNPQRSTVWY"), "line 3: alphabet .* is not DNA"),
    (MEME_HEADER + "MOTIF rna\nletter-probability matrix: alength= 20 w= 1\n" + " 0.05" * 20 + "\n",
     "motif 'rna': line 11: alength= 20, but only DNA motifs"),
    (MEME_HEADER + "MOTIF cols\nletter-probability matrix: w= 2\n 0.5 0.5 0 0\n 0.5 0.5 0\n",
     "motif 'cols': line 13: 3 values where a letter-probability row has 4"),
    (MEME_HEADER + "MOTIF sums\nletter-probability matrix: w= 2\n 0.5 0.5 0 0\n 0.5 0.5 0.5 0\n",
     "motif 'sums': line 13: the row sums to 1.5000, not 1"),
    (MEME_HEADER + "MOTIF wide\nletter-probability matrix: w= 3\n 0.5 0.5 0 0\n 0.5 0.5 0 0\n",
     "motif 'wide': line 11: w= 3 but 2 matrix rows follow"),
    (MEME_HEADER + "MOTIF word\nletter-probability matrix: w= 1\n 0.5 0.5 0 x\n", "motif 'word': line 12: 'x' is not"),
    (MEME_HEADER + "MOTIF none\nURL x\n", r"motif 'none' \(line 10\) has no 'letter-probability matrix:' line"),
    (TRANSFAC.replace("PO\tA\tC\tG\tT", "PO\tA\tC\tG\tU"), "line 9: matrix columns 'A C G U' are not A C G T"),
    (TRANSFAC.replace("02\t0.0\t10.0\t0.0\t0.0\tC", "02\t0.0\t10.0\t0.0"), "motif 'Toy': line 11: 3 values after"),
    (TRANSFAC.replace("02\t0.0", "03\t0.0"), "motif 'Toy': line 11: position 03 where 2 was expected"),
    (TRANSFAC.replace("\t2.0\t2.0\t2.0\t4.0", "\t0\t0\t0\t0"), "motif 'Toy': line 12: the row sums to 0"),
    (TRANSFAC.replace("P0  T G C A\n01  1 0 0 3\n02  0 2 2 0\n", ""), r"motif 'MA9998.1' \(line 16\) has no 'P0'"),
])
def test_errors_name_the_file_the_motif_and_the_line(tmp_path, text, message):
    path = motif_file(tmp_path, text, "bad_motifs.txt")
    with pytest.raises(InputError, match=re.escape(str(path)) + ": .*" + message):
        read_motifs(path)


def test_missing_and_damaged_files(tmp_path):
    with pytest.raises(InputError, match="absent.meme: motif file not found"):
        read_motifs(tmp_path / "absent.meme")
    damaged = tmp_path / "damaged.meme.gz"
    damaged.write_bytes(gzip.compress(b"MEME version 4\n")[:-6])
    with pytest.raises(InputError, match="damaged.meme.gz: a damaged gzip file"):
        read_motifs(damaged)


def test_negative_values_are_refused_or_skipped_with_a_warning(tmp_path):
    text = MEME_HEADER + ("MOTIF good\nletter-probability matrix: w= 1\n 1 0 0 0\n\n"
                          "MOTIF HrcA_like\nletter-probability matrix: w= 1\n 0.48 0.48 0.48 -0.44\n")
    path = motif_file(tmp_path, text)
    with pytest.raises(InputError, match=re.escape(str(path)) + ": motif 'HrcA_like': line 16: .* is negative"):
        read_motifs(path)
    with pytest.warns(UserWarning, match="motif 'HrcA_like'.*motif left out"):
        motifs = read_motifs(path, skip_invalid=True)
    assert [motif.name for motif in motifs] == ["good"]


@pytest.mark.shared_data
def test_every_shared_motif_file_parses():
    expected = {"regulondb_2025-05.meme": 109, "prodoric_2015.meme": 201, "dbtbs_2015-11-06.meme": 87,
                "ecoli_chipexo_john2022.meme": 5, "jaspar2024_core_eukaryotic_decoy.transfac.gz": 2346}
    counts = {}
    for name in expected:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            motifs = read_motifs(shared_file(f"motifs/{name}"), skip_invalid=True)
        counts[name] = len(motifs)
        # one matrix of the 88 in DBTBS, HrcA's, holds negative values (rows still sum to 1): left out
        assert [str(w.message).split(": ")[1] for w in caught] == (
            ["motif '5072_HrcA_DBTBS_1.0_'"] if name.startswith("dbtbs") else [])
        assert all(motif.width >= 4 for motif in motifs)
    assert counts == expected
    with pytest.raises(InputError, match="motif '5072_HrcA_DBTBS_1.0_': line 358"):
        read_motifs(shared_file("motifs/dbtbs_2015-11-06.meme"))
