"""Training on a synthetic genome with planted promoters (sigma70-like boxes at -35 and -12 of every site)."""

import json
import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from pygenome.cli import main
from pygenome.errors import InputError
from pygenome.io.genome import decode, encode, reverse_complement
from pygenome.model import load_model
from pygenome.model.splits import split_genome
from pygenome.model.windows import IGNORE, GenomeInput, WindowSampler, read_inputs, strands
from pygenome.pipeline.simulate import promoter_genome, write_fasta
from pygenome.steps import train as train_module
from pygenome.steps.label import label
from pygenome.steps.train import configs, train
from tests.conftest import write_sites

FAST = {"n_layers": 2, "n_heads": 2, "d_model": 16, "d_head": 8, "context": 48, "steps": 60, "batch_size": 8,
        "segment_length": 64, "eval_every": 20, "checkpoint_every": 10, "warmup_steps": 10, "learning_rate": 3e-3,
        "loss": "weighted_ce", "site_fraction": 0.3}


@pytest.fixture(scope="module")
def promoters(tmp_path_factory):
    """A 60 kb circular genome with 300 planted promoters: its FASTA and label track."""
    folder = tmp_path_factory.mktemp("promoters")
    sequence, sites = promoter_genome(np.random.default_rng(3), 60_000, 300)
    fasta = write_fasta(folder / "promoters.fa", [("chrom", sequence, "circular")])
    label(fasta, folder, "promoters", sites=write_sites(folder / "sites.bed", sites), progress=False)
    return GenomeInput("promoters", str(fasta), str(folder / "promoters.labels.track.npz")), sites


def run(inputs, outdir, **settings):
    model_config, train_config = configs("cpu", {**FAST, **settings})
    return train(inputs, outdir, model_config, train_config, progress=False)


def test_windows_read_each_strand_5_to_3_with_shifted_targets(promoters):
    genome_input, sites = promoters
    loaded = read_inputs([genome_input])
    regions = [{"genome": "promoters", "contig": "chrom", "start": 0, "end": 60_000, "set": "train"}]
    plus, minus = strands(loaded, regions)
    assert decode(minus.codes[:50]) == decode(reverse_complement(plus.codes)[:50])
    site = sites[sites.strand == "-"].iloc[0]
    oriented = 60_000 - 1 - site.position
    assert minus.labels[oriented] == 1
    assert decode(minus.codes[oriented - 12:oriented - 6]) == "TATAAT"  # upstream is to the left on either strand
    sampler = WindowSampler([plus, minus], length=64, memory=10, shift=5)
    tokens, targets = sampler.window(minus, oriented - 30)
    assert tokens.shape == (74,) and targets.shape == (64,)
    assert targets[30] == 1  # the label of the site is the target of output 30, which reads token 10 + 30: the
    site_token = 10 + 30 - 5  # site lies `shift` tokens upstream of it, with its -10 box upstream again
    assert decode(tokens[site_token - 12:site_token - 6]) == "TATAAT"


def test_site_windows_and_held_out_targets(promoters):
    genome_input, _ = promoters
    loaded = read_inputs([genome_input])
    regions = split_genome("promoters", [{"name": "chrom", "length": 60_000}], (0.5, 0.2, 0.3), seed=1)
    strand_list = strands(loaded, regions)
    sampler = WindowSampler(strand_list, length=64, memory=0, shift=5, site_fraction=1.0)
    tokens, targets = sampler.batch(seed=0, step=0, size=32)
    assert (targets == 1).any(axis=1).all()  # every window holds a training site
    uniform = WindowSampler(strand_list, length=64, memory=0, shift=5)
    plus = strand_list[0]
    boundary = int(np.flatnonzero(np.diff((plus.sets == 0).astype(int)) == -1)[0]) + 1  # train ends here
    _, targets = uniform.window(plus, boundary - 32)
    assert (targets[:32] != IGNORE).all() and (targets[32:] == IGNORE).all()  # held-out labels are not trained on
    whole = uniform.batch(seed=4, step=9, size=8)
    parts = [uniform.batch(seed=4, step=9, size=8, part=slice(i, i + 2)) for i in range(0, 8, 2)]
    assert np.array_equal(np.concatenate([p[0] for p in parts]), whole[0])


def test_training_learns_planted_promoters(tmp_path, promoters):
    genome_input, _ = promoters
    metrics = run([genome_input], tmp_path / "model", steps=300, eval_every=100)
    assert metrics["best_validation"]["validation_roc_auc"] > 0.8
    assert metrics["test"]["roc_auc"] > 0.8
    model, record = load_model(tmp_path / "model")
    assert record["data"][0]["genome_checksum"] and record["split"] and record["best_step"] == metrics["best_step"]
    assert [row["step"] for row in metrics["history"]] == [100, 200, 300]
    tsv = (tmp_path / "model" / "metrics.tsv").read_text().splitlines()
    assert tsv[0].startswith("step\tlearning_rate\ttrain_loss\tvalidation_loss") and len(tsv) == 4
    assert set(load_file(tmp_path / "model" / "model.safetensors")) == set(model.state_dict())


def test_resume_after_a_kill_reaches_the_same_weights(tmp_path, promoters):
    genome_input, _ = promoters
    command = [sys.executable, "-m", "pygenome", "train", "--genome", genome_input.id, genome_input.fasta,
               genome_input.labels, "--threads", "1", "--quiet", "--set",
               *[f"{k}={json.dumps(v)}" for k, v in {**FAST, "steps": 200, "eval_every": 100}.items()]]
    subprocess.run([*command, "--outdir", str(tmp_path / "whole")], check=True)
    killed = tmp_path / "killed"
    process = subprocess.Popen([*command, "--outdir", str(killed)])
    checkpoint = killed / "checkpoints" / "last.pt"
    while not checkpoint.exists() and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    step = json.loads(torch.load(checkpoint, weights_only=True)["progress"])["step"]
    assert step < 200 and not (killed / "model.safetensors").exists()
    subprocess.run([*command, "--outdir", str(killed), "--resume"], check=True)
    whole, resumed = load_file(tmp_path / "whole" / "model.safetensors"), load_file(killed / "model.safetensors")
    assert all(torch.equal(whole[name], resumed[name]) for name in whole)
    # the same bytes from another process (safetensors wrote a metadata map's keys in any order), mode as umask says
    assert (tmp_path / "whole" / "model.safetensors").read_bytes() == (killed / "model.safetensors").read_bytes()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((killed / "model.safetensors").stat().st_mode) == 0o666 & ~umask
    assert json.loads((killed / "metrics.json").read_text()) == json.loads((tmp_path / "whole" /
                                                                            "metrics.json").read_text())


def test_two_gloo_processes_follow_the_loss_curve_of_one(tmp_path, promoters):
    genome_input, _ = promoters
    settings = [f"{k}={json.dumps(v)}" for k, v in {**FAST, "steps": 30, "eval_every": 5}.items()]
    arguments = ["train", "--genome", genome_input.id, genome_input.fasta, genome_input.labels, "--threads", "1",
                 "--quiet", "--device", "cpu", "--set", *settings]
    subprocess.run([sys.executable, "-m", "pygenome", *arguments, "--outdir", str(tmp_path / "one")], check=True)
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
                    "pygenome", *arguments, "--outdir", str(tmp_path / "two")], check=True, env=environment)
    one, two = (json.loads((tmp_path / name / "metrics.json").read_text())["history"] for name in ("one", "two"))
    assert [row["step"] for row in one] == [row["step"] for row in two] == [5, 10, 15, 20, 25, 30]
    np.testing.assert_allclose([r["train_loss"] for r in two], [r["train_loss"] for r in one], rtol=1e-4)
    np.testing.assert_allclose([r["validation_loss"] for r in two], [r["validation_loss"] for r in one], rtol=1e-3)


def test_labels_of_another_genome_are_refused(tmp_path, promoters):
    genome_input, _ = promoters
    other = write_fasta(tmp_path / "other.fa", [("chrom", "ACGT" * 15_000, "circular")])
    with pytest.raises(InputError, match="differs from .*other.fa.*re-run the label step"):
        run([GenomeInput("x", str(other), genome_input.labels)], tmp_path / "m")


def test_no_positives_in_the_training_region_is_refused(tmp_path):
    fasta = write_fasta(tmp_path / "g.fa", [("chrom", "ACGT" * 2000, "circular")])
    test_region = next(r for r in split_genome("g", [{"name": "chrom", "length": 8000}], (0.5, 0.25, 0.25), 0,
                                               "fraction") if r["set"] == "test")
    bed = tmp_path / "s.bed"
    bed.write_text(f"chrom\t{test_region['start']}\t{test_region['start'] + 1}\ts\t0\t+\n")  # the only site
    label(fasta, tmp_path, "g", sites=bed, progress=False)
    inputs = [GenomeInput("g", str(fasta), str(tmp_path / "g.labels.track.npz"))]
    with pytest.raises(InputError, match="no positive labels in the training region"):
        run(inputs, tmp_path / "m", split_fractions=[0.5, 0.25, 0.25], split_seed=0, split_mode="fraction")


def test_a_nan_gradient_stops_before_it_reaches_the_weights(tmp_path, promoters, monkeypatch):
    genome_input, _ = promoters
    real = train_module.loss_sum
    calls = {"n": 0}

    def finite_loss_nan_gradient(logits, *args):
        calls["n"] += 1
        value = real(logits, *args)
        return value + torch.sqrt(0 * logits.sum()) if calls["n"] == 15 else value  # d sqrt(x)/dx at 0: inf

    monkeypatch.setattr(train_module, "loss_sum", finite_loss_nan_gradient)
    with pytest.raises(InputError, match="gradient norm became (nan|inf) at step 15"):
        run([genome_input], tmp_path / "m")
    saved = torch.load(tmp_path / "m" / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert all(torch.isfinite(tensor).all() for tensor in saved.values())


def test_an_early_stopped_or_finished_run_has_nothing_to_resume(tmp_path, promoters):
    genome_input, _ = promoters
    metrics = run([genome_input], tmp_path / "m", steps=200, eval_every=10, patience=1)
    assert metrics["steps"] < 200
    with pytest.raises(InputError, match="already finished at step"):
        run_resume = configs("cpu", {**FAST, "steps": 200, "eval_every": 10, "patience": 1})
        train([genome_input], tmp_path / "m", *run_resume, resume=True, progress=False)
    (tmp_path / "m" / "model.safetensors").unlink()  # killed between its last checkpoint and the outputs
    model_config, train_config = configs("cpu", {**FAST, "steps": 200, "eval_every": 10, "patience": 1})
    resumed = train([genome_input], tmp_path / "m", model_config, train_config, resume=True, progress=False)
    assert resumed["steps"] == metrics["steps"] and resumed["history"] == metrics["history"]


@pytest.mark.parametrize("setting, message", [
    ({"patience": -1}, "patience must be 0 or more"),
    ({"warmup_steps": -5}, "warmup_steps must be 0 or more"),
    ({"grad_clip": 0}, "grad_clip and positive_weight must be positive"),
    ({"min_learning_rate": 1.0}, "min_learning_rate must not exceed learning_rate"),
    ({"split_fractions": [0.9, 0.0, 0.1]}, "some validation"),
])
def test_impossible_training_settings_are_refused(tmp_path, promoters, setting, message):
    genome_input, _ = promoters
    with pytest.raises(InputError, match=message):
        run([genome_input], tmp_path / "m", **setting)


def test_a_nan_loss_stops_with_the_last_good_checkpoint(tmp_path, promoters, monkeypatch):
    genome_input, _ = promoters
    real = train_module.loss_sum
    calls = {"n": 0}

    def poisoned(*args):
        calls["n"] += 1
        value = real(*args)
        return value * float("nan") if calls["n"] == 15 else value

    monkeypatch.setattr(train_module, "loss_sum", poisoned)
    with pytest.raises(InputError, match="loss became nan at step 15; the last good checkpoint \\(step 10\\)"):
        run([genome_input], tmp_path / "m")
    assert json.loads(torch.load(tmp_path / "m" / "checkpoints" / "last.pt", weights_only=True)["progress"])[
        "step"] == 10
    assert not (tmp_path / "m" / "model.safetensors").exists()


def test_resume_refuses_another_configuration_and_a_used_folder(tmp_path, promoters, capsys):
    genome_input, _ = promoters
    run([genome_input], tmp_path / "m", steps=20)
    with pytest.raises(InputError, match="already holds a model"):
        run([genome_input], tmp_path / "m", steps=20)
    model_config, train_config = configs("cpu", {**FAST, "steps": 40, "n_layers": 3})
    with pytest.raises(InputError, match="another configuration \\(it differs in: model, training\\)"):
        train([genome_input], tmp_path / "m", model_config, train_config, resume=True, progress=False)
    arguments = ["train", "--genome", genome_input.id, genome_input.fasta, genome_input.labels, "--outdir",
                 str(tmp_path / "n"), "--set", "batch_size=0"]
    assert main(arguments) == 2
    assert "batch_size must be at least 1" in capsys.readouterr().err
    assert main([*arguments[:-1], "n_layer=3"]) == 2
    assert "unknown setting 'n_layer'" in capsys.readouterr().err


def test_presets_are_valid():
    for preset in train_module.PRESETS:
        model_config, train_config = configs(preset)
        assert model_config.receptive_field >= 1 and train_config.steps >= 1
    assert configs("paper")[0].context == 512 and configs("paper")[1].focal_gamma == 0.8
    assert configs("cnn")[0].kind == "cnn" and configs("cnn", {"n_filters": 8})[0].n_filters == 8
    with pytest.raises(InputError, match="unknown setting 'n_heads'"):
        configs("cnn", {"n_heads": 2})  # a transformer setting is not a CNN's


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bf16_training_learns(tmp_path, promoters):
    genome_input, _ = promoters
    model_config, train_config = configs("cpu", {**FAST, "steps": 300, "eval_every": 100})
    metrics = train([genome_input], tmp_path / "m", model_config, train_config, device="cuda", progress=False)
    assert metrics["test"]["roc_auc"] > 0.8


def test_promoter_genome_plants_both_boxes_on_both_strands():
    sequence, sites = promoter_genome(np.random.default_rng(1), 3000, 5)
    for position, strand in zip(sites.position, sites.strand):
        window = encode(sequence[position - 40:position + 1] if strand == "+" else sequence[position:position + 41])
        oriented = decode(window if strand == "+" else reverse_complement(window))
        assert oriented[5:11] == "TTGACA" and oriented[28:34] == "TATAAT"
