"""The demo: the whole pipeline on the bundled E. coli data, from simulated dRNA-seq alignments of the Thomason 2015
TSS. The labels must give back the known TSS and none of the processed sites; the model must beat the -10 box scan on
the held-out region; and an attention head must attend to the -10 box and match the sigma70 -10 reference. It takes
the full demo's time (about 8 minutes on 2 cores), once for the module."""

import json
from pathlib import Path

import pytest

from pygenome.cli import main

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


def test_a_second_demo_skips_every_task(demo_run, capsys):
    assert main(["demo", "--outdir", str(demo_run), "--data", str(ASSETS), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("done before, skipped") == 7


def test_demo_without_its_data_says_where_to_run(tmp_path, capsys):
    assert main(["demo", "--outdir", str(tmp_path), "--data", str(tmp_path / "nowhere")]) == 2
    assert "demo data not found" in capsys.readouterr().err
