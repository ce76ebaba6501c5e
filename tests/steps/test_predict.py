"""Prediction, attention at sites and evaluation, on a synthetic genome with planted promoters."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

from pygenome.cli import main
from pygenome.errors import InputError
from pygenome.io.sites import fraction_near
from pygenome.io.tracks import Track, load_track
from pygenome.model.inference import attention_at, plan_streams, score_stretches
from pygenome.model.transformer import Transformer, TransformerConfig
from pygenome.steps.evaluate import evaluate
from pygenome.steps.label import label
from pygenome.steps.predict import SiteCaller, call_predicted_sites
from tests.conftest import write_sites

TOLERANCE = 1e-5  # float32 streaming against one float32 forward: the same arithmetic, summed in other orders
# (differences up to 2e-6 with the kernels of an AMD EPYC, where 1e-6 had sufficed before)


def small_model(seed=0):
    torch.manual_seed(seed)
    model = Transformer(TransformerConfig(n_layers=2, n_heads=2, d_model=8, d_head=4, conv_kernel=3, context=20,
                                          shift=5))
    for layer in model.layers:
        torch.nn.init.normal_(layer.relative_bias, std=0.5)
    return model.eval()


def direct(model, tokens: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.from_numpy(tokens.astype(np.int64))[None])[0].softmax(-1)[0, :, 1].numpy()


@pytest.mark.parametrize("stream_tokens", [150, 400, 1 << 16])
def test_streaming_equals_one_full_forward_linear_and_circular(stream_tokens):
    model = small_model()
    codes = np.random.default_rng(0).integers(0, 5, 2000).astype(np.uint8)
    shift = model.config.shift
    linear = direct(model, np.concatenate([codes, np.full(shift, 4, np.uint8)]))[shift:]  # N after the end
    circular = direct(model, np.concatenate([codes] * 3))[2000 + shift:4000 + shift]  # a full turn of context
    got_linear = score_stretches(model, codes, False, [(0, 2000), (37, 1500)], stream_tokens=stream_tokens,
                                 batch_size=3)
    got_circular = score_stretches(model, codes, True, [(0, 2000), (1990, 2000)], stream_tokens=stream_tokens)
    np.testing.assert_allclose(got_linear[0], linear, atol=TOLERANCE)
    np.testing.assert_allclose(got_linear[1], linear[37:1500], atol=TOLERANCE)
    np.testing.assert_allclose(got_circular[0], circular, atol=TOLERANCE)
    np.testing.assert_allclose(got_circular[1], circular[1990:], atol=TOLERANCE)


def test_streams_tile_the_stretch_with_equal_token_counts():
    streams, tokens = plan_streams(0, 10_000, warmup=300, shift=20, circular=False, stream_tokens=1000)
    assert streams[0] == (0, 0, 980)  # the first has nothing upstream to warm up on
    assert all(first == label + 20 - 300 and count <= 700 for first, label, count in streams[1:])
    assert sum(count for *_, count in streams) == 10_000 and tokens == 1000


def test_attention_rows_sum_to_one_over_the_keys_a_query_may_see_and_keep_the_score():
    model = small_model()
    codes = np.random.default_rng(1).integers(0, 4, 500).astype(np.uint8)
    scores = score_stretches(model, codes, False, [(0, 500)])[0]
    labels = np.array([0, 3, 17, 250, 499])
    attention, probabilities = attention_at(model, codes, False, labels)
    np.testing.assert_allclose(probabilities, scores[labels], atol=TOLERANCE)
    assert attention.dtype == np.float16 and attention.shape == (5, 2, 2, 21)
    np.testing.assert_allclose(attention.astype(np.float32).sum(-1), 1, atol=2e-3)
    visible = (attention[0] > 0).sum(-1)  # label 0 is read at output 5: keys 0..5 exist
    assert (visible <= 6).all() and (attention[0][..., 6:] == 0).all()


def predict_cli(trained, fasta, outdir, *extra):
    return main(["predict", "--model", str(trained["folder"] / "model"), "--fasta", str(fasta), "--outdir",
                 str(outdir), "--prefix", "p", "--quiet", "--threads", "2", *map(str, extra)])


def test_predicted_peaks_fall_on_planted_sites_of_both_strands(tmp_path, trained):
    assert predict_cli(trained, trained["fasta"], tmp_path, "--call", "top_k", "--top-k", 100) == 0
    track = load_track(tmp_path / "p.scores.track.npz")
    assert track.kind == "scores" and track.arrays["chrom"].dtype == np.float32
    predicted = pd.read_csv(tmp_path / "p.predicted.bed", sep="\t").rename(columns={"#contig": "contig",
                                                                                   "start": "position"})
    assert fraction_near(predicted, trained["sites"], 30) >= 0.85 and set(predicted.strand) == {"+", "-"}
    scores = track.arrays["chrom"]

    def median_at(offset):  # offset downstream of each site, on its own strand, in forward coordinates
        return np.median([scores[0, p + offset] if s == "+" else scores[1, p - offset]
                          for p, s in zip(trained["sites"].position, trained["sites"].strand)])

    assert median_at(0) > 2 * max(median_at(-2), median_at(2))  # the peak is at the site, on either strand
    assert median_at(0) > 5 * np.median(scores)


def test_the_origin_of_a_circular_contig_is_read_through(tmp_path, trained):
    assert predict_cli(trained, trained["rotated"], tmp_path / "circular", "--topology", "circular") == 0
    assert predict_cli(trained, trained["rotated"], tmp_path / "linear", "--topology", "linear") == 0
    circular = load_track(tmp_path / "circular" / "p.scores.track.npz").arrays["chrom"]
    linear = load_track(tmp_path / "linear" / "p.scores.track.npz").arrays["chrom"]
    original = load_track_scores(trained, tmp_path)
    rotation = int(trained["sites"][trained["sites"].strand == "+"].iloc[10].position) - 5
    np.testing.assert_allclose(np.roll(original, -rotation, axis=1), circular, atol=TOLERANCE)
    # linear: the same scores wherever the receptive field (2 x 70 nt, + shift) stays inside the contig, others
    # near the ends, where the upstream boxes of the site at 5 are no longer read
    np.testing.assert_allclose(linear[:, 200:-200], circular[:, 200:-200], atol=TOLERANCE)
    assert circular[0, 5] > 0.5 and linear[0, 5] < circular[0, 5] - 0.3


def load_track_scores(trained, tmp_path):
    assert predict_cli(trained, trained["fasta"], tmp_path / "original") == 0
    return load_track(tmp_path / "original" / "p.scores.track.npz").arrays["chrom"]


def test_attention_at_labelled_sites_and_bit_identical_reruns(tmp_path, trained):
    for run in ("a", "b"):
        assert predict_cli(trained, trained["fasta"], tmp_path / run, "--attention-sites", trained["labels"],
                           "--attention-controls", 200, "--bedgraph") == 0
    for name in ("scores.track.npz", "predicted.bed", "attention.npz", "scores.plus.bedgraph"):
        assert (tmp_path / "a" / f"p.{name}").read_bytes() == (tmp_path / "b" / f"p.{name}").read_bytes()
    with np.load(tmp_path / "a" / "p.attention.npz") as archive:
        attention, offset = archive["attention"], archive["offset"]
        assert attention.shape == (500, 2, 4, 65) and offset[0] == 20 and offset[-1] == 20 - 64
        sites = archive["query"] == "site"
        assert sites.sum() == 300 and (archive["label"] == sites).all() and set(archive["strand"]) == {"+", "-"}
        for strand in "+-":  # controls lie more than 100 nt from every site on their strand, around the origin
            site_positions = archive["position"][sites & (archive["strand"] == strand)]
            for position in archive["position"][~sites & (archive["strand"] == strand)]:
                distance = np.abs(site_positions - position)
                assert np.minimum(distance, 60_000 - distance).min() > 100
        scores = load_track(tmp_path / "a" / "p.scores.track.npz").arrays["chrom"]
        rows = (archive["strand"] == "-").astype(int)
        np.testing.assert_allclose(archive["score"], scores[rows, archive["position"]], atol=TOLERANCE)
        np.testing.assert_allclose(attention.astype(np.float32).sum(-1), 1, atol=5e-3)


def test_a_small_contig_crowded_with_sites_gets_the_controls_there_is_room_for(tmp_path, trained, capsys):
    sequence = "".join(trained["fasta"].read_text().split("\n")[1:])[:2000]
    fasta = tmp_path / "plasmid.fa"
    fasta.write_text(">plasmid\n" + sequence + "\n")
    positions = np.arange(100, 2000, 210)  # on both strands: each rules out 201 of the 2,000 places on its strand
    crowded = pd.DataFrame({"contig": "plasmid", "position": np.repeat(positions, 2), "strand": ["+", "-"] * 10})
    bed = write_sites(tmp_path / "crowded.bed", crowded)
    room = 2 * int((np.abs(np.arange(2000)[:, None] - positions).min(1) > 100).sum())
    assert predict_cli(trained, fasta, tmp_path / "default", "--attention-sites", bed) == 0
    assert re.search(f"^pygenome predict: warning: plasmid: room for {room} attention controls .* not 500; attention "
                     "taken at those$", capsys.readouterr().err, re.MULTILINE)  # one line, no source line
    with np.load(tmp_path / "default" / "p.attention.npz") as archive:
        assert (archive["query"] == "control").sum() == room and (archive["query"] == "site").sum() == 20
    assert predict_cli(trained, fasta, tmp_path / "asked", "--attention-sites", bed, "--attention-controls",
                       2000) == 2  # a number asked for that does not fit stays an error
    assert "ask for fewer with --attention-controls" in capsys.readouterr().err
    assert not (tmp_path / "asked").exists() or not any((tmp_path / "asked").iterdir())


def test_site_calling_rules():
    genome = {"path": "g.fa", "checksum": "x", "contigs": [{"name": "c", "length": 100, "circular": False}]}
    values = np.zeros((2, 100), dtype=np.float32)
    values[0, [10, 12, 50, 51]] = [0.9, 0.7, 0.6, 0.6]
    values[1, 98] = 0.95
    track = Track("scores", genome, {"c": values})
    peaks = call_predicted_sites(track, SiteCaller("peaks", 0.5, 5))
    assert list(zip(peaks.position, peaks.strand)) == [(10, "+"), (50, "+"), (98, "-")]
    above = call_predicted_sites(track, SiteCaller("threshold", 0.65))
    assert list(above.position) == [10, 12, 98]
    top = call_predicted_sites(track, SiteCaller("top_k", top_k=2, distance=5))
    assert sorted(top.position) == [10, 98]


def test_evaluate_on_held_out_regions(tmp_path, trained):
    assert predict_cli(trained, trained["fasta"], tmp_path / "pred") == 0
    figures = evaluate(trained["folder"] / "model", [tmp_path / "pred" / "p.scores.track.npz"], [trained["labels"]],
                       tmp_path / "eval")
    assert figures["overall"]["roc_auc"] > 0.8 and figures["genomes"]["g"]["positions"] == 2 * 12_000
    record = json.loads((trained["folder"] / "model" / "config.json").read_text())
    assert figures["overall"]["roc_auc"] == pytest.approx(record["metrics"]["test"]["roc_auc"], abs=1e-6)
    for name in ("evaluation.json", "roc.tsv", "pr.tsv", "sites.tsv", "curves.png"):
        assert (tmp_path / "eval" / name).stat().st_size > 0
    sites = pd.read_csv(tmp_path / "eval" / "sites.tsv", sep="\t")
    assert list(sites.columns[:5]) == ["genome", "threshold", "calibrated", "predicted_sites", "labelled_sites"]
    assert sites.labelled_sites.iloc[0] == figures["genomes"]["g"]["positives"]
    assert (sites.precision.dropna().between(0, 1)).all() and sites.recall.iloc[0] > 0.5


def test_predict_calls_sites_at_the_model_s_calibrated_threshold_and_evaluate_reports_it(tmp_path, trained):
    record = json.loads((trained["folder"] / "model" / "config.json").read_text())
    rule = record["site_calling"]
    assert rule["method"] == "peaks" and 0 < rule["min_score"] < 1 and rule["validation"]["labelled_sites"] > 0
    assert rule["validation"]["f1"] >= rule["default"]["f1"]  # best F1 on validation, so never below 0.5's there
    assert predict_cli(trained, trained["fasta"], tmp_path / "calibrated") == 0
    assert predict_cli(trained, trained["fasta"], tmp_path / "half", "--min-score", "0.5") == 0
    track = load_track(tmp_path / "calibrated" / "p.scores.track.npz")
    assert track.producer["parameters"]["caller"]["min_score"] == rule["min_score"]
    called = pd.read_csv(tmp_path / "calibrated" / "p.predicted.bed", sep="\t")
    expected = call_predicted_sites(track, SiteCaller(min_score=rule["min_score"]))
    assert len(called) == len(expected) and called["score"].min() >= rule["min_score"] - 1e-6
    half = pd.read_csv(tmp_path / "half" / "p.predicted.bed", sep="\t")
    assert len(half) == len(call_predicted_sites(track, SiteCaller(min_score=0.5)))
    figures = evaluate(trained["folder"] / "model", [tmp_path / "calibrated" / "p.scores.track.npz"],
                       [trained["labels"]], tmp_path / "eval")
    at = figures["site_calling"]["genomes"]["g"]
    assert figures["site_calling"]["min_score"] == rule["min_score"] and 0 < at["recall"] <= 1
    sites = pd.read_csv(tmp_path / "eval" / "sites.tsv", sep="\t")
    assert sites.loc[sites.calibrated == 1, "threshold"].tolist() == [pytest.approx(rule["min_score"], rel=1e-5)]


def test_evaluate_per_contig_predictions_and_untrained_genomes(tmp_path, trained):
    assert predict_cli(trained, trained["rotated"], tmp_path / "pred", "--topology", "circular") == 0
    rotated_bed = write_sites(tmp_path / "rotated.bed", trained["rotated_sites"])
    label(trained["rotated"], tmp_path, "rotated", sites=rotated_bed, topology="circular", progress=False)
    arguments = [trained["folder"] / "model", [tmp_path / "pred" / "p.scores.track.npz"],
                 [tmp_path / "rotated.labels.track.npz"], tmp_path / "eval"]
    with pytest.raises(InputError, match="not trained on this genome.*--held-out all"):
        evaluate(*arguments)
    figures = evaluate(*arguments, which="all")
    assert figures["overall"]["positions"] == 120_000 and figures["overall"]["roc_auc"] > 0.8
    auto = evaluate(*arguments[:3], tmp_path / "auto", which="auto")  # a genome the model never saw: every position
    assert auto["overall"] == figures["overall"] and auto["genomes"]["rotated.fa"]["set"] == "all"
    with pytest.raises(InputError, match="no label track for the genome"):
        evaluate(arguments[0], arguments[1], [trained["labels"]], tmp_path / "e2", which="all")
