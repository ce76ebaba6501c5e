"""Surveys: ``pygenome run`` on genomes without labels, with the bundled model, and leave-one-genome-out on labelled
genomes of different GC. The genomes are simulated with planted sigma70 promoters (TTGACA at -35..-30, TATAAT at
-12..-7 upstream of each site), so the answer is known."""

import json

import numpy as np
import pandas as pd
import pytest

from pygenome.io.genome import read_genome
from pygenome.io.package_data import SIGMA70_MINUS10
from pygenome.io.sites import fraction_near, read_sites_bed
from pygenome.io.tracks import load_track
from pygenome.pipeline.plan import read_params
from pygenome.pipeline.run import run
from pygenome.pipeline.simulate import promoter_genome, write_fasta
from pygenome.steps.predict import SiteCaller, call_predicted_sites
from tests.conftest import write_sites

TINY = {"n_layers": 2, "n_heads": 4, "d_model": 16, "d_head": 8, "context": 64, "steps": 600, "batch_size": 8,
        "segment_length": 64, "eval_every": 300, "checkpoint_every": 300, "warmup_steps": 10, "learning_rate": 6e-3,
        "loss": "weighted_ce", "site_fraction": 0.3}


def _genome(folder, name, gc, seed, length=60_000, sites=300):
    sequence, planted = promoter_genome(np.random.default_rng(seed), length, sites, gc=gc)
    fasta = write_fasta(folder / f"{name}.fa", [("chrom", sequence, "circular")])
    return fasta, write_sites(folder / f"{name}.truth.bed", planted)


@pytest.mark.slow
def test_a_genome_without_labels_is_surveyed_with_the_bundled_model(tmp_path):
    fasta, truth = _genome(tmp_path, "free", 0.5, 11)
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text("id,fasta,topology\nfree,free.fa,circular\n")
    params = read_params(model="ecoli-cpu", databases=[str(SIGMA70_MINUS10)], threads=2)
    tasks = run(sheet, tmp_path / "results", params, progress=False, say=lambda line: None)
    assert [t["key"].split("/")[0] for t in tasks] == ["predict", "motifs", "survey", "report"]
    results = tmp_path / "results"
    genome = read_genome(fasta)
    predicted = read_sites_bed(results / "predict" / "free" / "free.chrom.predicted.bed", genome)
    planted = read_sites_bed(truth, genome)
    precision, recall = fraction_near(predicted, planted, 10), fraction_near(planted, predicted, 10)
    print(f"bundled model on an unlabelled planted genome: {len(predicted)} sites, precision {precision:.3f}, "
          f"recall {recall:.3f}")
    assert precision > 0.35 and recall > 0.6  # seen: 0.43 and 0.76 at the calibrated 0.898
    track = load_track(results / "predict" / "free" / "free.chrom.scores.track.npz")
    at_half = call_predicted_sites(track, SiteCaller(min_score=0.5))
    assert precision > 2 * fraction_near(at_half, planted, 10)  # seen: 0.17 at 0.5, with 3x the calls
    heads = pd.read_csv(results / "motifs" / "survey.heads.tsv", sep="\t")
    matches = pd.read_csv(results / "motifs" / "survey.matches.tsv", sep="\t")
    minus10 = set(matches.loc[matches["target"].str.startswith("sigma70_minus10") & (matches["q_value"] < 0.05),
                              "query"])
    found = heads[(heads["reported"] == 1) & heads["motif"].isin(minus10)]
    assert len(found), "no head of the bundled model finds the -10 box in the unlabelled genome"
    centre = (found["motif_start"] + found["motif_end"]) / 2
    assert (abs(centre - (-9.5)) <= 3).any()
    table = pd.read_csv(results / "survey" / "survey.tsv", sep="\t")
    assert table["genome"].tolist() == ["free"] and table["predicted_sites"].tolist() == [len(predicted)]
    assert "free" in (results / "report.html").read_text()


@pytest.mark.slow
def test_leave_one_genome_out_evaluates_each_genome_with_a_model_that_never_saw_it(tmp_path):
    rows = []
    for name, gc, seed in (("gc35", 0.35, 1), ("gc50", 0.5, 2), ("gc65", 0.65, 3)):
        fasta, truth = _genome(tmp_path, name, gc, seed)
        rows.append(f"{name},{fasta.name},{truth.name},circular")
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text("id,fasta,sites,topology\n" + "\n".join(rows) + "\n")
    params = read_params(model_scope="leave_one_out", training=TINY, threads=2)
    run(sheet, tmp_path / "results", params, progress=False, say=lambda line: None)
    results = tmp_path / "results"
    transfer = {}
    for held in ("gc35", "gc50", "gc65"):
        config = json.loads((results / "train" / f"without_{held}" / "config.json").read_text())
        assert held not in [entry["id"] for entry in config["data"]] and len(config["data"]) == 2
        folder = results / "evaluate" / f"without_{held}"
        evaluation = json.loads((folder / "evaluation.json").read_text())
        (figures,) = evaluation["genomes"].values()  # the held-out genome alone, every position of it
        assert figures["set"] == "all" and figures["positions"] == 2 * 60_000
        transfer[held] = figures["roc_auc"]
        assert evaluation["baseline"]["genomes"]  # beside the -10 box scan
        assert (folder / "curves.png").stat().st_size > 10_000
        assert (results / "predict" / held / f"{held}.chrom.attention.npz").is_file()
    # seen: trained at 35 and 50 % GC, the model serves the 65 % genome (ROC AUC 1.00); trained at 50 and 65 %, it
    # serves the 35 % genome barely (0.60, where the -10 box scan gets 0.99): TATAAT is common in an AT-rich genome
    assert min(transfer.values()) > 0.55 and transfer["gc65"] > 0.95, transfer
    table = pd.read_csv(results / "survey" / "survey.tsv", sep="\t").set_index("genome")
    for held in ("gc35", "gc50", "gc65"):  # the genome's own GC (its planted AT-rich boxes pull it below the target)
        sequence = "".join((tmp_path / f"{held}.fa").read_text().upper().split("\n")[1:])
        gc = (sequence.count("G") + sequence.count("C")) / len(sequence)
        assert table.loc[held, "gc"] == pytest.approx(gc, abs=1e-4)
    assert table["gc"].is_monotonic_increasing
