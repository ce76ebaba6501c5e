"""Attribution on the planted-promoter model (conftest ``trained``: TATAAT at -12..-7 and TTGACA at -35..-30 of every
site): every method puts its largest attributions on the -10 box; tangermeme's saliency and ISM equal the explicit
computations; ISM is written centred and its raw entries are score differences; integrated gradients and DeepLIFT/SHAP
(on a CNN; refused for the transformer) are complete; the dinucleotide shuffle keeps dinucleotides; outputs are
(N, 4, L) arrays that TF-MoDISco reads (``modisco motifs`` finds patterns in every method's), reproducible to the
byte."""

import collections
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pygenome.cli import main
from pygenome.errors import InputError
from pygenome.interpret.attributed import ism_changes
from pygenome.interpret.attribution import (
    dinucleotide_shuffle,
    ism,
    log_odds,
    saliency,
    window_offsets,
)
from pygenome.interpret.attribution_methods import DEFAULT_METHODS, METHODS
from pygenome.io.genome import read_genome
from pygenome.io.motifs import read_motifs
from pygenome.model import load_model
from pygenome.model.inference import attention_at
from pygenome.steps.attribute import attribute
from pygenome.steps.report import report
from tests.conftest import write_planted_database

SITES = 80


@pytest.fixture(scope="module")
def attributed(trained, tmp_path_factory):
    outdir = tmp_path_factory.mktemp("attributed")
    database = write_planted_database(outdir / "known.meme")
    summary = attribute(trained["folder"] / "model", trained["fasta"], trained["labels"], outdir, "g",
                        topology="circular", max_sites=SITES, databases=[database], progress=False)
    arrays = {name: np.load(outdir / f"g.{name}.npz")["arr_0"] for name in ("one_hot", *DEFAULT_METHODS)}
    return {"outdir": outdir, "summary": summary, "arrays": arrays,
            "sites": pd.read_csv(outdir / "g.sites.tsv", sep="\t")}


@pytest.fixture(scope="module")
def all_sites(trained, tmp_path_factory):
    """The gradient methods at all 300 sites (integrated gradients with 10 steps): at 80, too few seqlets of one
    sign pass TF-MoDISco's threshold for it to cluster them (more than 100)."""
    outdir = tmp_path_factory.mktemp("all_sites")
    summary = attribute(trained["folder"] / "model", trained["fasta"], trained["labels"], outdir, "g",
                        methods=["saliency", "integrated_gradients"], steps=10, topology="circular", plot_sites=0,
                        progress=False)
    return {"outdir": outdir, "summary": summary}


@pytest.fixture(scope="module")
def cnn_attributed(trained, trained_cnn, tmp_path_factory):
    """DeepLIFT/SHAP of a CNN trained on the planted genome, at all 300 sites."""
    outdir = tmp_path_factory.mktemp("cnn_attributed")
    summary = attribute(trained_cnn / "model", trained["fasta"], trained["labels"], outdir, "g",
                        methods=["deep_lift_shap"], topology="circular", plot_sites=0, progress=False)
    arrays = {name: np.load(outdir / f"g.{name}.npz")["arr_0"] for name in ("one_hot", "deep_lift_shap")}
    return {"outdir": outdir, "model": trained_cnn / "model", "summary": summary, "arrays": arrays,
            "sites": pd.read_csv(outdir / "g.sites.tsv", sep="\t")}


def test_outputs_are_one_hot_and_attribution_arrays_of_one_shape(attributed, trained):
    model, _ = load_model(trained["folder"] / "model")
    arrays, width = attributed["arrays"], attributed["summary"]["window"]["length"]
    for values in arrays.values():
        assert values.shape == (SITES, 4, width) and values.dtype == np.float32
    assert (arrays["one_hot"].sum(axis=1) == 1).all()  # no N in a circular genome's windows
    assert (arrays["saliency"][arrays["one_hot"] == 0] == 0).all()  # gradient x input: the present base only
    assert np.abs(arrays["ism"].sum(axis=1)).max() < 1e-5  # centred: each position's four entries sum to 0
    assert (ism_changes(arrays["ism"], arrays["one_hot"])[arrays["one_hot"] == 1] == 0).all()  # no identity edits
    sites = attributed["sites"]
    assert len(sites) == SITES and (sites["log_odds"] > 0).mean() > 0.75
    plus = sites[sites.strand == "+"]  # the window's score is the streamed prediction's
    codes = read_genome(trained["fasta"], "circular").codes["chrom"]
    _, probability = attention_at(model, codes, True, plus["position"].to_numpy())
    np.testing.assert_allclose(np.log(probability / (1 - probability)), plus["log_odds"], atol=0.01)
    assert list(window_offsets(model.config)[[0, -1]]) == [-120, 20]
    assert sorted(p.name for p in (attributed["outdir"] / "g.figures").iterdir())[:3] == [
        "1.integrated_gradients.png", "1.ism.png", "1.saliency.png"]


@pytest.mark.parametrize("method", DEFAULT_METHODS)
def test_attribution_is_highest_on_the_planted_minus10_box(attributed, trained, method):
    model, _ = load_model(trained["folder"] / "model")
    offsets = window_offsets(model.config)
    importance = np.abs(attributed["arrays"][method]).sum(axis=1).mean(axis=0)  # (L,)
    box = (offsets >= -12) & (offsets <= -7)
    near_boxes = ((offsets >= -37) & (offsets <= -28)) | ((offsets >= -14) & (offsets <= -5))
    elsewhere = (offsets <= 10) & ~near_boxes
    assert importance[box].min() > 2 * importance[elsewhere].max()
    assert importance[box].min() > importance[offsets > 10].max()  # beyond the output's own neighbourhood too


def test_attribution_motifs_are_the_planted_boxes_where_they_were_planted(attributed):
    motifs = pd.read_csv(attributed["outdir"] / "g.motifs.tsv", sep="\t")
    for method in DEFAULT_METHODS:
        minus10 = motifs[(motifs.method == method) & motifs.consensus.fillna("").str.contains("TATAAT")]
        assert len(minus10) == 1, motifs
        row = minus10.iloc[0]
        assert -14 <= row.motif_start <= -12 and -7 <= row.motif_end <= -5
        assert row.best_match == "planted_TATAAT" and row.best_match_q < 0.05
    minus35 = motifs[(motifs.method == "ism") & motifs.consensus.fillna("").str.contains("TTGAC")]
    assert len(minus35) == 1 and -36 <= minus35.iloc[0].motif_start <= -34  # ISM sees the weaker -35 box too
    written = read_motifs(attributed["outdir"] / "g.motifs.meme")
    assert [m.name for m in written] == list(motifs.motif.dropna())


def test_raw_ism_entries_are_the_score_changes_of_single_edits(attributed, trained):
    model, _ = load_model(trained["folder"] / "model")
    x = torch.from_numpy(attributed["arrays"]["one_hot"][:2])
    changes = ism_changes(attributed["arrays"]["ism"], attributed["arrays"]["one_hot"])
    for site, column, base in ((0, 108, 0), (1, 50, 3)):
        if x[site, base, column] == 1:
            base = (base + 1) % 4
        variant = x[site].clone()
        variant[:, column] = 0
        variant[base, column] = 1
        with torch.no_grad():
            expected = (log_odds(model, variant[None]) - log_odds(model, x[site][None])).item()
        assert changes[site, base, column] == pytest.approx(expected, abs=1e-4)


def explicit_saliency(model, x):
    """Gradient × input by one autograd call (the computation pygenome did before tangermeme)."""
    x = x.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(log_odds(model, x).sum(), x)
    return (gradient * x).detach()


@torch.no_grad()
def explicit_ism(model, x):
    """Every single edit's change of the score, by explicit loops (0 for the present base)."""
    result = torch.zeros_like(x)
    for index in range(len(x)):
        reference = log_odds(model, x[index:index + 1])[0]
        for column in range(x.shape[2]):
            variants = x[index].expand(4, -1, -1).clone()
            variants[:, :, column] = torch.eye(4)
            result[index, :, column] = log_odds(model, variants) - reference
    return result


def test_tangermeme_saliency_and_ism_equal_the_explicit_computations(attributed, trained):
    model, _ = load_model(trained["folder"] / "model")
    x = torch.from_numpy(attributed["arrays"]["one_hot"][:6])
    assert torch.equal(saliency(model, x), explicit_saliency(model, x))  # the same autograd call: the same bits
    raw = explicit_ism(model, x)
    centred = ism(model, x)
    np.testing.assert_allclose(centred.numpy(), (raw - raw.mean(dim=1, keepdim=True)).numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(ism_changes(centred.numpy(), x.numpy()), raw.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(attributed["arrays"]["ism"][:6], centred.numpy())  # as the step wrote them
    np.testing.assert_array_equal(attributed["arrays"]["saliency"][:6], saliency(model, x).numpy())


def test_deep_lift_shap_is_complete_on_a_cnn_and_refused_for_the_transformer(cnn_attributed, trained, tmp_path):
    figures = cnn_attributed["summary"]["deep_lift_shap"]
    assert figures["references"] == 20 and figures["completeness_error_max"] < 1e-3 * figures["mean_abs_log_odds"]
    sites, arrays = cnn_attributed["sites"], cnn_attributed["arrays"]
    assert sites["deep_lift_shap_completeness_error"].abs().max() == pytest.approx(figures["completeness_error_max"])
    assert (arrays["deep_lift_shap"][arrays["one_hot"] == 0] != 0).mean() > 0.5  # hypothetical: every base
    model, _ = load_model(cnn_attributed["model"])
    offsets = window_offsets(model.config)
    importance = np.abs(arrays["deep_lift_shap"] * arrays["one_hot"]).sum(axis=1).mean(axis=0)
    boxes = ((offsets >= -35) & (offsets <= -30)) | ((offsets >= -12) & (offsets <= -7))  # the CNN weighs both
    elsewhere = (offsets <= 10) & ~(((offsets >= -37) & (offsets <= -28)) | ((offsets >= -14) & (offsets <= -5)))
    assert importance[boxes].min() > 2 * importance[elsewhere].max()
    page = report(tmp_path / "report.html", attribution_dir=cnn_attributed["outdir"], attribution_prefix="g")
    assert "DeepLIFT/SHAP: completeness error, mean and max (log-odds)" in page.read_text()  # the report says it
    page.unlink()
    with pytest.raises(InputError, match="supports the cnn model only, not the transformer: its attention"):
        attribute(trained["folder"] / "model", trained["fasta"], trained["labels"], tmp_path, "g",
                  methods=["deep_lift_shap"])
    assert not any(tmp_path.glob("g.*"))


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_tf_modisco_finds_patterns_in_every_method(attributed, all_sites, cnn_attributed, method, tmp_path):
    pytest.importorskip("modiscolite")
    modisco = shutil.which("modisco", path=str(Path(sys.executable).parent)) or shutil.which("modisco")
    h5py = pytest.importorskip("h5py")
    run = {"ism": attributed, "deep_lift_shap": cnn_attributed}.get(method, all_sites)
    outdir, width = run["outdir"], run["summary"]["window"]["length"] // 2 * 2
    subprocess.run([modisco, "motifs", "-s", str(outdir / "g.one_hot.npz"), "-a", str(outdir / f"g.{method}.npz"),
                    "-n", "2000", "-w", str(width), "-o", str(tmp_path / "modisco.h5")], check=True,
                   capture_output=True)
    with h5py.File(tmp_path / "modisco.h5") as results:
        assert sum(len(results[sign]) for sign in ("pos_patterns", "neg_patterns") if sign in results) >= 1


def test_integrated_gradients_are_complete_and_converge_with_steps(attributed, trained, tmp_path):
    figures = attributed["summary"]["integrated_gradients"]
    assert figures["completeness_error_max"] < 0.02 * figures["mean_abs_log_odds"]
    coarse = attribute(trained["folder"] / "model", trained["fasta"], trained["labels"], tmp_path, "coarse",
                       methods=["integrated_gradients"], steps=4, topology="circular", max_sites=SITES,
                       plot_sites=0, progress=False)["integrated_gradients"]
    assert coarse["completeness_error_mean"] > 3 * figures["completeness_error_mean"]
    sites = attributed["sites"]
    total = attributed["arrays"]["integrated_gradients"].sum(axis=(1, 2))
    np.testing.assert_allclose(total - (sites["log_odds"] - sites["reference_log_odds"]),
                               sites["completeness_error"], atol=1e-3)


def test_a_second_run_gives_the_same_bytes(attributed, trained, tmp_path):
    assert main(["attribute", "--model", str(trained["folder"] / "model"), "--fasta", str(trained["fasta"]),
                 "--sites", str(trained["labels"]), "--topology", "circular", "--max-sites", str(SITES),
                 "--method", *DEFAULT_METHODS,
                 "--database", str(attributed["outdir"] / "known.meme"), "--outdir", str(tmp_path), "--prefix", "g",
                 "--quiet"]) == 0
    for name in ("one_hot.npz", "saliency.npz", "ism.npz", "integrated_gradients.npz", "sites.tsv", "motifs.tsv",
                 "motifs.meme", "attribution.json"):
        assert (tmp_path / f"g.{name}").read_bytes() == (attributed["outdir"] / f"g.{name}").read_bytes(), name
    assert json.loads((tmp_path / "g.attribution.json").read_text())["parameters"]["reference"] == \
        "dinucleotide_shuffle"


def test_dinucleotide_shuffle_keeps_dinucleotides_and_ends():
    rng = np.random.default_rng(0)
    changed = 0
    for _ in range(300):
        codes = rng.integers(0, 5, size=rng.integers(3, 80))
        shuffled = dinucleotide_shuffle(codes, rng)
        assert collections.Counter(zip(codes[:-1], codes[1:])) == collections.Counter(zip(shuffled[:-1],
                                                                                           shuffled[1:]))
        assert shuffled[0] == codes[0] and shuffled[-1] == codes[-1]
        changed += not np.array_equal(codes, shuffled)
    assert changed > 250  # a shuffle, not the identity


def test_bad_requests_are_refused(trained, tmp_path):
    model = trained["folder"] / "model"
    with pytest.raises(InputError, match="choose from saliency"):
        attribute(model, trained["fasta"], trained["labels"], tmp_path, "g", methods=["deeplift"])
    with pytest.raises(InputError, match="at least one reference"):
        attribute(model, trained["fasta"], trained["labels"], tmp_path, "g", deep_lift_references=0)
    (tmp_path / "empty.bed").write_text("")
    with pytest.raises(InputError, match="no sites on the contigs"):
        attribute(model, trained["fasta"], tmp_path / "empty.bed", tmp_path, "g")
    assert not any(tmp_path.glob("g.*"))


def test_contribution_tracks_put_each_window_at_its_genome_positions(attributed, trained):
    from pygenome.io.tracks import load_track

    track = load_track(attributed["outdir"] / "g.saliency.track.npz")
    assert track.kind == "attribution"
    model, _ = load_model(trained["folder"] / "model")
    offsets = window_offsets(model.config)
    contribution = (attributed["arrays"]["saliency"] * attributed["arrays"]["one_hot"]).sum(axis=1)
    sites = attributed["sites"]
    for row in (0, 1):  # the first sites: one on each strand in the planted genome's order
        site = sites.iloc[row]
        box = (offsets >= -12) & (offsets <= -7)
        positions = site.position + (offsets[box] if site.strand == "+" else -offsets[box])
        strand_row = 0 if site.strand == "+" else 1
        written = track.arrays["chrom"][strand_row, positions % 60_000]
        assert np.sign(written).tolist() == np.sign(contribution[row, box]).tolist()
        assert np.all(np.abs(written) >= np.abs(contribution[row, box]) - 1e-6)
    assert (attributed["outdir"] / "g.saliency.plus.bw").stat().st_size > 0
