"""The demo: the whole pipeline on the bundled E. coli data, from simulated dRNA-seq alignments of the Thomason 2015
TSS. The labels must give back the known TSS and none of the processed sites; the model must beat the -10 box scan on
the held-out region; and an attention head must attend to the -10 box and match the sigma70 -10 reference. It takes
the full demo's time (about 8 minutes on 2 cores), once for the module."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load_file

from pygenome.cli import main
from pygenome.io.genome import read_genome
from pygenome.io.model_store import model_folder
from pygenome.io.tracks import load_track
from pygenome.steps.predict import SiteCaller, call_predicted_sites

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "demo"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--outdir", str(outdir), "--data", str(ASSETS), "--quiet"]) == 0
    return outdir


def test_the_simulated_alignments_give_back_the_known_tss(demo_run):
    label = json.loads((demo_run / "demo_summary.json").read_text())["label"]
    assert label["known_tss_recovered"] > 0.9
    assert label["called_sites_that_are_known_tss_within_10nt"] > 0.99
    assert label["called_sites_at_processed_sites"] == 0


def test_the_model_beats_the_minus10_scan_and_a_head_finds_the_minus10_box(demo_run):
    summary = json.loads((demo_run / "demo_summary.json").read_text())
    model, baseline = summary["test_region"]["model"], summary["test_region"]["baseline"]
    assert model["positions"] == baseline["positions"] > 1_000_000
    assert model["roc_auc"] > baseline["roc_auc"] + 0.03 and model["pr_auc"] > baseline["pr_auc"]
    heads = summary["minus10_heads"]
    assert heads, "no head motif matches the sigma70 -10 reference"
    best = heads[0]
    assert abs((best["motif_start"] + best["motif_end"]) / 2 - (-10)) <= 3 and "TA" in best["consensus"]
    assert best["match"].startswith("sigma70_minus10") and best["match_q"] < 0.05
    page = (demo_run / "report.html").read_text()
    assert "The alignments are simulated" in page and "Model and baseline" in page


def test_the_calibrated_threshold_beats_half_on_the_test_region_and_predict_calls_at_it(demo_run):
    record = json.loads((demo_run / "train" / "ecoli" / "config.json").read_text())
    threshold = record["site_calling"]["min_score"]
    sites = pd.read_csv(demo_run / "evaluate" / "ecoli" / "sites.tsv", sep="\t")
    calibrated = sites[sites["calibrated"] == 1].iloc[0]
    half = sites[sites["threshold"] == 0.5].iloc[0]
    assert calibrated["f1"] > half["f1"] and calibrated["precision"] > half["precision"]
    genome = read_genome(ASSETS / "NC_000913.3.fa.gz")
    (contig,) = [c.name for c in genome.contigs]
    prefix = demo_run / "predict" / "ecoli" / f"ecoli.{contig}"
    called = pd.read_csv(f"{prefix}.predicted.bed", sep="\t")
    track = load_track(f"{prefix}.scores.track.npz")
    assert len(called) == len(call_predicted_sites(track, SiteCaller(min_score=threshold)))
    assert len(called) < len(call_predicted_sites(track, SiteCaller(min_score=0.5)))


def test_the_demo_trains_the_bundled_model_again(demo_run):
    """The bundled ecoli-cpu is the demo's model (assets/models/bundle_ecoli_cpu.py): the same settings, data and
    split, and the same weights to float rounding (see docs/run.md on CPU float sums)."""
    bundled, trained = model_folder("ecoli-cpu"), demo_run / "train" / "ecoli"
    records = [json.loads((folder / "config.json").read_text()) for folder in (bundled, trained)]
    for key in ("model", "training", "data", "split", "best_step"):
        assert records[0][key] == records[1][key], key
    assert records[1]["site_calling"]["min_score"] == pytest.approx(records[0]["site_calling"]["min_score"], rel=1e-3)
    weights = [load_file(folder / "model.safetensors") for folder in (bundled, trained)]
    assert weights[0].keys() == weights[1].keys()
    for name in weights[0]:
        np.testing.assert_allclose(weights[1][name], weights[0][name], rtol=1e-3, atol=1e-4, err_msg=name)


def test_a_second_demo_skips_every_task(demo_run, capsys):
    assert main(["demo", "--outdir", str(demo_run), "--data", str(ASSETS), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("done before, skipped") == 8


def test_demo_without_its_data_says_where_to_run(tmp_path, capsys):
    assert main(["demo", "--outdir", str(tmp_path), "--data", str(tmp_path / "nowhere")]) == 2
    assert "demo data not found" in capsys.readouterr().err
