"""The -10 box baseline: scores checked by hand and against a direct scan, the origin of circular contigs, planted
promoters, and the baseline evaluated beside a model."""

import json

import numpy as np
import pandas as pd
import pytest

from pygenome.cli import main
from pygenome.errors import InputError
from pygenome.interpret.composition import log_odds
from pygenome.io.genome import read_genome, reverse_complement
from pygenome.io.tracks import load_track
from pygenome.model.metrics import roc_auc
from pygenome.model.splits import SETS, set_mask
from pygenome.pipeline.simulate import promoter_genome, random_sequence, write_fasta
from pygenome.steps.baseline import baseline, consensus_matrix, pwm_scan
from pygenome.steps.evaluate import evaluate
from pygenome.steps.predict import predict
from tests.conftest import write_planted_database

# width 2: A then T scores 1 + 2; an N scores its column's lowest weight, 0
WEIGHTS = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]])


def genome_of(tmp_path, sequence, topology, name="g.fa"):
    return read_genome(write_fasta(tmp_path / name, [("c", sequence, topology)]), topology)


def test_scores_by_hand_on_both_strands(tmp_path):
    # GATCCAAT, placements at p-2 and p-1 on each strand. + strand: AT at 1 and 6, AA at 5. − strand, read 5'→3'
    # (ATTGGATC, forward position 7 first): AT at its 0 and 5, TT at its 1; written back at forward coordinates.
    linear = pwm_scan(genome_of(tmp_path, "GATCCAAT", "linear"), WEIGHTS, (-2, -1))["c"]
    assert linear.dtype == np.float32 and linear.shape == (2, 8)
    np.testing.assert_array_equal(linear[0], [0, 0, 3, 3, 0, 0, 1, 3])
    np.testing.assert_array_equal(linear[1], [3, 3, 0, 0, 2, 3, 3, 0])
    # circular: position 0 of the + strand reads AT at 6 (offset -2) across the origin
    circular = pwm_scan(genome_of(tmp_path, "GATCCAAT", "circular", "c.fa"), WEIGHTS, (-2, -1))["c"]
    np.testing.assert_array_equal(circular[0], [3, 0, 3, 3, 0, 0, 1, 3])
    np.testing.assert_array_equal(circular[1], linear[1])


def direct_scan(codes, weights, start, end, circular):
    """The score of every position of one strand (codes read 5'→3'), one placement at a time."""
    width, length = weights.shape[0], codes.size
    padded = np.hstack([weights, weights.min(axis=1, keepdims=True)])
    scores = np.empty(length)
    for position in range(length):
        best = -np.inf
        for offset in range(start, end + 1):
            total = 0.0
            for column in range(width):
                index = position + offset + column
                code = codes[index % length] if circular or 0 <= index < length else 4
                total += padded[column, code]
            best = max(best, total)
        scores[position] = best
    return scores


@pytest.mark.parametrize("topology", ["linear", "circular"])
@pytest.mark.parametrize("offsets", [(-14, -9), (-3, 2), (4, 4)])
def test_the_scan_equals_a_direct_scan(tmp_path, topology, offsets):
    rng = np.random.default_rng(5)
    sequence = random_sequence(300, rng)
    sequence = sequence[:100] + "NNN" + sequence[103:]
    weights = rng.normal(size=(6, 4))
    genome = genome_of(tmp_path, sequence, topology)
    got = pwm_scan(genome, weights, offsets)["c"]
    codes, circular = genome.codes["c"], topology == "circular"
    np.testing.assert_allclose(got[0], direct_scan(codes, weights, *offsets, circular), rtol=1e-6)
    np.testing.assert_allclose(got[1], direct_scan(reverse_complement(codes), weights, *offsets, circular)[::-1],
                               rtol=1e-6)


def test_a_circular_contig_scans_the_same_from_any_origin(tmp_path):
    sequence = random_sequence(2000, np.random.default_rng(2))
    weights = log_odds(consensus_matrix(), np.full(4, 0.25), 0.01)
    original = pwm_scan(genome_of(tmp_path, sequence, "circular"), weights)["c"]
    rotated = pwm_scan(genome_of(tmp_path, sequence[700:] + sequence[:700], "circular", "r.fa"), weights)["c"]
    np.testing.assert_array_equal(np.roll(original, -700, axis=1), rotated)


def test_default_matrix():
    np.testing.assert_allclose(consensus_matrix("TA"), [[0.1, 0.1, 0.1, 0.7], [0.7, 0.1, 0.1, 0.1]])


def planted(tmp_path):
    sequence, sites = promoter_genome(np.random.default_rng(4), 30_000, 100)
    return write_fasta(tmp_path / "planted.fa", [("chrom", sequence, "circular")]), sites


def test_planted_sites_score_highest(tmp_path):
    fasta, sites = planted(tmp_path)
    path = baseline(fasta, tmp_path / "out", "planted")
    track = load_track(path)
    assert path.name == "planted.scores.track.npz" and track.kind == "scores"
    assert track.producer["step"] == "baseline" and track.producer["parameters"]["offsets"] == [-14, -9]
    weights = np.array(track.producer["parameters"]["weights_bits"])
    scores = track.arrays["chrom"]
    rows = (sites.strand == "-").to_numpy().astype(int)
    at_sites = scores[rows, sites.position]
    np.testing.assert_allclose(at_sites, weights.max(axis=1).sum(), rtol=1e-5)  # the consensus, the best score
    labels = np.zeros_like(scores, dtype=bool)
    labels[rows, sites.position] = True
    assert roc_auc(labels.ravel(), scores.ravel()) > 0.99


def test_a_motif_from_a_file_and_an_unknown_name(tmp_path, capsys):
    fasta, sites = planted(tmp_path)
    motifs = write_planted_database(tmp_path / "known.meme")
    arguments = ["baseline", "--fasta", str(fasta), "--motif", str(motifs), "--outdir", str(tmp_path / "out"),
                 "--prefix", "p"]
    assert main([*arguments, "--motif-name", "planted_TTGACA", "--offsets", "-35", "-35"]) == 0
    scores = load_track(tmp_path / "out" / "p.scores.track.npz").arrays["chrom"]
    rows = (sites.strand == "-").to_numpy().astype(int)
    assert (scores[rows, sites.position] >= scores.max() - 1e-5).all()  # the -35 box, exactly 35 nt upstream
    assert main([*arguments, "--motif-name", "sigma70"]) == 2
    error = capsys.readouterr().err
    assert "known.meme: no motif named 'sigma70'" in error and "planted_TATAAT" in error
    with pytest.raises(InputError, match="go together"):
        baseline(fasta, tmp_path, "q", motif=motifs)
    with pytest.raises(InputError, match="offsets -9 -14"):
        baseline(fasta, tmp_path, "q", offsets=(-9, -14))


def test_the_baseline_is_evaluated_on_the_models_positions(tmp_path, trained):
    model = trained["folder"] / "model"
    predict(model, trained["fasta"], tmp_path / "pred", "p", progress=False)
    predictions = [tmp_path / "pred" / "p.scores.track.npz"]
    bl = baseline(trained["fasta"], tmp_path / "bl", "g")
    alone = evaluate(model, predictions, [trained["labels"]], tmp_path / "alone")
    figures = evaluate(model, predictions, [trained["labels"]], tmp_path / "eval", baseline=[bl])
    assert figures["overall"] == alone["overall"] and figures["sites"] == alone["sites"]
    # the baseline's ROC AUC on its own, over the test set of both strands
    record = json.loads((model / "config.json").read_text())
    inside = set_mask(record["split"], "g", "chrom", 60_000) == SETS.index("test")
    labels = load_track(trained["labels"]).arrays["chrom"][:, inside].ravel()
    own = roc_auc(labels, load_track(bl).arrays["chrom"][:, inside].ravel())
    written = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    assert written["baseline"]["overall"]["roc_auc"] == pytest.approx(own, abs=1e-12)
    assert written["baseline"]["genomes"]["g"]["positions"] == written["genomes"]["g"]["positions"] == 24_000
    assert written["baseline"]["tracks"][0]["file"] == "g.scores.track.npz" and own > 0.9
    assert "baseline" not in json.loads((tmp_path / "alone" / "evaluation.json").read_text())
    for curve in ("roc", "pr"):
        table = pd.read_csv(tmp_path / "eval" / f"{curve}.tsv", sep="\t")
        assert list(table.columns[:2]) == ["genome", "scorer"] and set(table.scorer) == {"model", "baseline"}
        assert set(pd.read_csv(tmp_path / "alone" / f"{curve}.tsv", sep="\t").scorer) == {"model"}
    rotated = baseline(trained["rotated"], tmp_path / "bl", "rotated", topology="circular")
    with pytest.raises(InputError, match="no predictions for this genome"):
        evaluate(model, predictions, [trained["labels"]], tmp_path / "e2", baseline=[bl, rotated])
    assert main(["evaluate", "--model", str(model), "--predictions", *map(str, predictions), "--labels",
                 str(trained["labels"]), "--outdir", str(tmp_path / "cli"), "--baseline", str(bl)]) == 0
    assert (tmp_path / "cli" / "evaluation.json").read_bytes() == (tmp_path / "eval" / "evaluation.json").read_bytes()
