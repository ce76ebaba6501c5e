"""``pygenome run`` end to end on a tiny two-genome samplesheet (one labelled from simulated TSS-seq alignments with a
control library, one from known sites and with a plasmid), resuming, and the samplesheet's checks."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from pygenome.cli import main
from pygenome.errors import InputError
from pygenome.io.genome import read_genome
from pygenome.io.samplesheet import read_samplesheet
from pygenome.io.sites import fraction_near, read_sites_bed
from pygenome.pipeline.plan import read_params
from pygenome.pipeline.run import _run_task, run
from tests.conftest import write_planted_database

TRAINING = {"n_layers": 2, "n_heads": 4, "d_model": 16, "d_head": 8, "context": 64, "steps": 1000, "batch_size": 8,
            "segment_length": 64, "eval_every": 500, "checkpoint_every": 100, "warmup_steps": 10,
            "learning_rate": 6e-3, "loss": "weighted_ce", "site_fraction": 0.3}


TEST_DATA = Path(__file__).resolve().parents[2] / "assets" / "test"


def make_inputs(folder):
    """The pipeline's test data (assets/test: genomes, alignments or sites, a samplesheet with relative paths), the
    planted motifs as a database and a YAML config, in ``folder``."""
    for path in TEST_DATA.iterdir():
        if path.suffix != ".py":
            shutil.copy(path, folder / path.name)
    write_planted_database(folder / "known.meme")
    config = {"training": TRAINING, "databases": [str(folder / "known.meme")], "title": "two genomes",
              "threads": 2}
    (folder / "params.yaml").write_text(json.dumps(config))  # JSON is YAML
    return folder / "samplesheet.csv", folder / "params.yaml"


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    samplesheet, config = make_inputs(folder)
    tasks = run(samplesheet, folder / "results", read_params(config), progress=False, say=lambda line: None)
    return {"folder": folder, "results": folder / "results", "samplesheet": samplesheet, "config": config,
            "tasks": tasks}


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_output_exists_parses_and_holds_the_planted_answer(survey):
    results = survey["results"]
    assert [t["key"] for t in survey["tasks"]] == [
        "label/alpha", "label/beta", "train/alpha", "train/beta", "predict/alpha/chrom", "predict/beta/chrom",
        "predict/beta/plasmid", "baseline/alpha", "baseline/beta", "evaluate/alpha", "evaluate/beta", "motifs",
        "survey", "report"]
    assert all(t["status"] == "ran" for t in survey["tasks"])
    qc = json.loads((results / "label" / "alpha.qc.json").read_text())
    assert qc["sites"]["total"] > 150  # called from the simulated alignments
    alpha = read_genome(survey["folder"] / "alpha.fa")
    planted = read_sites_bed(survey["folder"] / "alpha.truth.bed", alpha)
    called = read_sites_bed(results / "label" / "alpha.sites.bed", alpha)
    assert fraction_near(planted, called, 0) > 0.8 and fraction_near(called, planted, 10) > 0.8
    for model in ("alpha", "beta"):
        figures = json.loads((results / "evaluate" / model / "evaluation.json").read_text())
        assert figures["overall"]["roc_auc"] > 0.8, figures["overall"]
        assert figures["baseline"]["overall"]["positives"] == figures["overall"]["positives"]  # the same positions
        assert figures["baseline"]["overall"]["roc_auc"] > 0.9  # the planted -10 boxes are the scan's consensus
    assert (results / "predict" / "beta" / "beta.plasmid.scores.track.npz").exists()
    heads = pd.read_csv(results / "motifs" / "survey.heads.tsv", sep="\t")
    tataat = heads[(heads.reported == 1) & heads.consensus.fillna("").str.contains("TATAAT")]
    assert set(tataat.genome) == {"alpha", "beta"}  # both genomes' models have a -10 box head
    recurrence = pd.read_csv(results / "motifs" / "survey.recurrence.tsv", sep="\t")
    shared = recurrence.groupby("cluster").filter(lambda group: group.consensus.str.contains("TATAAT").any())
    assert set(shared.genome) == {"alpha", "beta"}  # the -10 box motifs of both genomes recur as one group
    figure = plt.imread(results / "motifs" / "survey.figures" / "recurrence.png")
    assert len(np.unique(figure.reshape(-1, figure.shape[-1]), axis=0)) > 10  # drawn, not blank
    page = (results / "report.html").read_text()
    assert "<title>two genomes</title>" in page and "beta · " in page
    assert "Recurring motifs" in page and "Model and baseline" in page
    params = json.loads((results / "pipeline" / "params.json").read_text())
    assert params["training"]["steps"] == 1000 and params["model_scope"] == "per_genome"


def test_tasks_json_records_each_tasks_seconds_and_peak_memory(survey):
    recorded = json.loads((survey["results"] / "pipeline" / "tasks.json").read_text())
    assert [t["key"] for t in recorded] == [t["key"] for t in survey["tasks"]]
    for task in recorded:  # a pygenome process imports numpy and pandas at least: tens of MiB; none needs GBs here
        assert task["seconds"] > 0 and 30 < task["peak_rss_mb"] < 4000, task


def test_a_tasks_peak_memory_is_its_own(tmp_path):
    """The peak resident memory a pygenome task reports as it exits (here 300 MiB touched before the command line
    runs), not the run's: ru_maxrss would count the RSS of the process that forked it (this one's)."""
    touch = ("x = bytearray(300 * 2**20); x[::4096] = b'1' * len(x[::4096]); import runpy, sys; "
             "sys.argv = ['pygenome', '--version']; runpy.run_module('pygenome', run_name='__main__')")
    returncode, peak = _run_task([sys.executable, "-c", touch], tmp_path / "peak")
    assert returncode == 0 and 300 <= peak < 600, peak
    returncode, peak = _run_task([sys.executable, "-m", "pygenome", "--version"], tmp_path / "peak")
    assert returncode == 0 and peak < 300, peak  # the pytest process holding this test may be larger
    returncode, peak = _run_task([sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "peak")
    assert returncode == 3 and peak is None and not (tmp_path / "peak").exists()  # not pygenome: no figure


def test_a_second_run_skips_everything_and_a_changed_parameter_reruns_what_depends_on_it(survey):
    before = {p: digest(p) for p in survey["results"].rglob("*") if p.is_file() and "pipeline" not in p.parts}
    lines = []
    again = run(survey["samplesheet"], survey["results"], read_params(survey["config"]), progress=False,
                say=lines.append)
    assert all(t["status"] == "skipped" for t in again) and len(lines) == 14
    retitled = run(survey["samplesheet"], survey["results"], read_params(survey["config"], title="renamed"),
                   progress=False, say=lambda line: None)
    assert [t["key"] for t in retitled if t["status"] == "ran"] == ["report"]
    after = {p: digest(p) for p in before}
    assert [p.name for p in before if before[p] != after[p]] == ["report.html"]


def test_a_killed_run_resumes_and_gives_the_same_outputs(survey, tmp_path):
    """Killed (the run and its task's process) while training the second model, then run again: finished tasks are
    skipped, the training goes on from its checkpoint, and the model is that of an uninterrupted run. To float
    rounding only: CPU float sums can differ in their last bits with the memory layout of the process (see
    docs/run.md), so a resumed training is not always bit-identical."""
    results = tmp_path / "results"
    run(survey["samplesheet"], results, read_params(survey["config"]), progress=False, say=lambda line: None)
    uninterrupted = load_file(results / "train" / "beta" / "model.safetensors")
    alpha = digest(results / "predict" / "alpha" / "alpha.chrom.attention.npz")
    shutil.rmtree(results)
    command = [sys.executable, "-m", "pygenome", "run", "--samplesheet", str(survey["samplesheet"]), "--config",
               str(survey["config"]), "--outdir", str(results), "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoint = results / "train" / "beta" / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the run and the task it runs, as a cluster would
    process.wait()
    assert checkpoint.exists() and not (results / "train" / "beta" / "model.safetensors").exists()
    lines = []
    tasks = run(survey["samplesheet"], results, read_params(survey["config"]), progress=False, say=lines.append)
    statuses = {t["key"]: t["status"] for t in tasks}
    assert statuses["label/alpha"] == statuses["train/alpha"] == "skipped" and statuses["train/beta"] == "ran"
    assert any("train/beta" in line and "(resumed)" in line for line in lines)
    resumed = load_file(results / "train" / "beta" / "model.safetensors")
    for name, weights in uninterrupted.items():
        torch.testing.assert_close(resumed[name], weights, rtol=1e-3, atol=1e-4)
    assert digest(results / "predict" / "alpha" / "alpha.chrom.attention.npz") == alpha  # untouched by the kill
    assert (results / "report.html").exists()


def write_sheet(folder, text):
    (folder / "g.fa").write_text(">c\nACGT\n")
    (folder / "s.bed").write_text("c\t1\t2\tx\t0\t+\n")
    (folder / "sheet.csv").write_text(text)
    return folder / "sheet.csv"


@pytest.mark.parametrize("text, message", [
    ("id,fasta,sites\ng1,missing.fa,s.bed\n", r"row 2, column 'fasta': missing.fa not found"),
    ("id,fasta,sites,topology\ng1,g.fa,s.bed,round\n", r"row 2, column 'topology': auto .* circular or linear"),
    ("id,fasta,control_bam,sites\ng1,g.fa,s.bed,s.bed\n", r"row 2, column 'control_bam': .*\.bam or \.cram"),
    ("id,fasta,control_bam\ng1,g.fa,c.bam\n", r"row 2: control_bam needs bam"),
    ("id,fasta,sites\ng1,g.fa,s.bed\ng1,g.fa,s.bed\n", r"row 3, column 'id': 'g1' is already the id of row 2"),
    ("id,fasta,sites,colour\ng1,g.fa,s.bed,blue\n", r"row 2: .*'colour' was unexpected.*the columns are id"),
    ("id,fasta,sites\nbad id,g.fa,s.bed\n", r"row 2, column 'id': a genome id"),
    ("id,fasta,sites\n", r"no genomes"),
    ("id,fasta,sites\ng1,g.fa,s.bed,extra\n", r"row 2 has 4 fields but the header names 3 \(id,fasta,sites\); remove "
                                             r"the extra value\(s\) 'extra' or name their column"),
])
def test_samplesheet_errors_name_the_row_and_the_column(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_samplesheet(write_sheet(tmp_path, text))


def test_a_row_with_only_a_fasta_is_a_genome_to_survey(tmp_path):
    (sample,) = read_samplesheet(write_sheet(tmp_path, "id,fasta\ng1,g.fa\n"))
    assert not sample.labelled and sample.bam is None and sample.sites is None


def test_samplesheet_paths_are_read_from_its_folder(tmp_path):
    samples = read_samplesheet(write_sheet(tmp_path, "id,fasta,sites\ng1,g.fa,s.bed\n"))
    assert samples[0].fasta == str(tmp_path / "g.fa") and samples[0].topology == "auto" and samples[0].bam is None


def test_unknown_parameters_are_refused(tmp_path):
    config = tmp_path / "p.yaml"
    config.write_text("preset: cpu\nepochs: 3\n")
    with pytest.raises(InputError, match="unknown parameter.*epochs"):
        read_params(config)
    assert main(["run", "--samplesheet", str(tmp_path / "none.csv"), "--outdir", str(tmp_path / "o")]) == 2


def test_odd_contig_names_stay_values_and_never_share_files(tmp_path):
    """A contig named like an option (--x) is still the value of --contig; names whose safe forms coincide (ctg_1,
    ctg|1) get files of their own."""
    from pygenome.cli import build_parser
    from pygenome.io.samplesheet import Sample
    from pygenome.pipeline.plan import plan

    sample = Sample(id="g", fasta=str(tmp_path / "g.fa"), sites=str(tmp_path / "s.bed"))
    tasks = {task.key: task for task in plan([sample], {"g": ["--x", "ctg_1", "ctg|1"]}, tmp_path, read_params())}
    predicted = [build_parser().parse_args(tasks[f"predict/g/{name}"].argv) for name in ("--x", "ctg_1", "ctg|1")]
    assert [args.contigs for args in predicted] == [["--x"], ["ctg_1"], ["ctg|1"]]
    assert [args.prefix for args in predicted] == ["g.--x", "g.ctg_1", "g.ctg_1_2"]


TINY = {"n_layers": 1, "n_heads": 2, "d_model": 8, "d_head": 4, "context": 16, "steps": 300, "batch_size": 4,
        "segment_length": 32, "eval_every": 100, "checkpoint_every": 10, "warmup_steps": 2}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One genome (beta, from known sites) run with a tiny model and no baseline: a run of a few seconds a task."""
    folder = tmp_path_factory.mktemp("tiny")
    for name in ("beta.fa", "beta.bed"):
        shutil.copy(TEST_DATA / name, folder / name)
    (folder / "sheet.csv").write_text("id,fasta,sites\nbeta,beta.fa,beta.bed\n")
    (folder / "params.yaml").write_text(json.dumps({"training": TINY, "baseline": False, "threads": 1}))
    run(folder / "sheet.csv", folder / "results", read_params(folder / "params.yaml"), progress=False,
        say=lambda line: None)
    return folder


def tiny_command(folder, results) -> list[str]:
    return [sys.executable, "-m", "pygenome", "run", "--samplesheet", str(folder / "sheet.csv"), "--config",
            str(folder / "params.yaml"), "--outdir", str(results), "--quiet"]


def start_until_training(folder, results):
    """``pygenome run`` in a process (and session) of its own, returned once its training has checkpointed."""
    process = subprocess.Popen(tiny_command(folder, results), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    checkpoint = results / "train" / "beta" / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert checkpoint.exists(), process.communicate()
    return process


def training_holder(results):
    """Whether a process still holds the training's folder lock."""
    import fcntl

    lock = results / "train" / "beta" / ".pygenome.lock"
    if not lock.exists():
        return False
    with open(lock) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


def wait_until(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


@pytest.mark.slow
def test_a_moved_output_folder_is_still_done(tiny, tmp_path):
    moved = tmp_path / "elsewhere" / "results"
    shutil.copytree(tiny / "results", moved, copy_function=shutil.copy2)
    tasks = run(tiny / "sheet.csv", moved, read_params(tiny / "params.yaml"), progress=False, say=lambda line: None)
    assert {t["status"] for t in tasks} == {"skipped"}


@pytest.mark.slow
def test_changed_threads_and_settings_start_a_fresh_model_and_never_wedge(tiny, tmp_path):
    """A changed training task (here --threads, then steps) trains afresh; the previous model folder is moved to
    pipeline/superseded/, never left in the way (once: "already holds a model… pass --resume" for good)."""
    results = tmp_path / "results"
    shutil.copytree(tiny / "results", results, copy_function=shutil.copy2)
    lines = []
    tasks = run(tiny / "sheet.csv", results, read_params(tiny / "params.yaml", threads=2), progress=False,
                say=lines.append)
    statuses = {t["key"]: t["status"] for t in tasks}
    assert statuses["label/beta"] == "skipped" and statuses["train/beta"] == "ran"
    assert any("previous model folder is now" in line for line in lines)
    superseded = results / "pipeline" / "superseded" / "train__beta"
    assert (superseded / "model.safetensors").read_bytes() == \
        (tiny / "results" / "train" / "beta" / "model.safetensors").read_bytes()
    settings = {**TINY, "steps": 200}
    tasks = run(tiny / "sheet.csv", results, read_params(tiny / "params.yaml", training=settings), progress=False,
                say=lambda line: None)
    assert {t["key"]: t["status"] for t in tasks}["train/beta"] == "ran"
    assert json.loads((results / "train" / "beta" / "config.json").read_text())["training"]["steps"] == 200


@pytest.mark.slow
def test_killing_the_run_alone_stops_its_task_and_a_rerun_finishes(tiny, tmp_path):
    """kill -9 of the run's process only (not its group): the training dies with it (PR_SET_PDEATHSIG) instead of
    finishing as an orphan, and the next run resumes it."""
    results = tmp_path / "results"
    process = start_until_training(tiny, results)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert wait_until(lambda: not training_holder(results)), "the training outlived the run"
    lines = []
    tasks = run(tiny / "sheet.csv", results, read_params(tiny / "params.yaml"), progress=False, say=lines.append)
    assert {t["key"]: t["status"] for t in tasks}["train/beta"] == "ran"
    assert any("train/beta" in line and "(resumed)" in line for line in lines)
    assert (results / "report.html").exists()


@pytest.mark.slow
def test_a_second_run_is_refused_and_sigterm_stops_the_first_with_its_task(tiny, tmp_path, capsys):
    results = tmp_path / "results"
    process = start_until_training(tiny, results)
    assert main(["run", "--samplesheet", str(tiny / "sheet.csv"), "--config", str(tiny / "params.yaml"),
                 "--outdir", str(results)]) == 2
    assert f"in use by another `pygenome run` (PID {process.pid}" in capsys.readouterr().err
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM and "stopped by SIGTERM" in stderr
    assert "Traceback" not in stderr
    assert not training_holder(results)
    tasks = run(tiny / "sheet.csv", results, read_params(tiny / "params.yaml"), progress=False, say=lambda line: None)
    assert {t["key"]: t["status"] for t in tasks}["report"] == "ran"


@pytest.mark.slow
def test_a_task_that_finished_after_its_run_was_killed_counts_as_done(tiny, tmp_path):
    """The training finished but its run died before stamping it: the next run takes it as done (its outputs are
    newer than its start), instead of failing with "training already finished" for good."""
    results = tmp_path / "results"
    shutil.copytree(tiny / "results", results, copy_function=shutil.copy2)
    stamp = results / "pipeline" / "stamps" / "train__beta.json"
    started = stamp.with_suffix(".started.json")
    stamp.rename(started)
    os.utime(started, ns=(0, 0))  # started before its outputs were written
    tasks = run(tiny / "sheet.csv", results, read_params(tiny / "params.yaml"), progress=False, say=lambda line: None)
    assert {t["status"] for t in tasks} == {"skipped"} and stamp.exists() and not started.exists()
