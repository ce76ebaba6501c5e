"""The report: real label, train, predict, evaluate and motifs outputs of two synthetic genomes, a survey of three
more (without labels; attention written directly, as tests/steps/test_survey.py makes it), and the page opened in
headless Chromium."""

import base64
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from pygenome.cli import main
from pygenome.errors import InputError
from pygenome.io.package_data import DECOY
from pygenome.model.windows import GenomeInput
from pygenome.pipeline.simulate import promoter_genome, tss_seq_libraries, write_bam, write_fasta
from pygenome.steps.baseline import baseline
from pygenome.steps.evaluate import evaluate
from pygenome.steps.label import label
from pygenome.steps.motifs import motifs
from pygenome.steps.predict import predict
from pygenome.steps.report import report
from pygenome.steps.train import configs, train
from tests.conftest import write_planted_database, write_sites
from tests.steps.test_survey import build_survey

SETTINGS = {"n_layers": 2, "n_heads": 2, "d_model": 16, "d_head": 8, "context": 48, "steps": 150, "batch_size": 8,
            "segment_length": 64, "eval_every": 50, "checkpoint_every": 150, "warmup_steps": 10,
            "learning_rate": 3e-3, "loss": "weighted_ce", "site_fraction": 0.3}
HOSTILE = "<script>alert(1)</script> & <b>"  # text that must reach the page escaped
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def build_inputs(folder):
    """Label (alpha: simulated TSS-seq with a control library; beta: known sites), train on both, predict and
    evaluate beside the -10 box baseline, and find motifs (against the planted boxes, described by hostile text);
    returns the report's arguments."""
    genomes = []
    for index, name in enumerate(("alpha", "beta")):
        sequence, sites = promoter_genome(np.random.default_rng(10 + index), 30_000, 150)
        fasta = write_fasta(folder / f"{name}.fa", [("chrom", sequence, "circular")])
        if name == "alpha":
            treated, control, _ = tss_seq_libraries(sites, {"chrom": sequence}, np.random.default_rng(1),
                                                    processed_sites=30, background_reads=2000)
            bams = [write_bam(folder / f"{name}.{kind}.bam", {"chrom": sequence}, reads)
                    for kind, reads in (("treated", treated), ("control", control))]
            label(fasta, folder, name, bam=bams[0], control_bam=bams[1], progress=False)
        else:
            label(fasta, folder, name, sites=write_sites(folder / f"{name}.bed", sites), progress=False)
        genomes.append(GenomeInput(name, str(fasta), str(folder / f"{name}.labels.track.npz")))
    train(genomes, folder / "model", *configs("cpu", SETTINGS), progress=False)
    for genome in genomes:
        predict(folder / "model", genome.fasta, folder / "predicted", genome.id, attention_sites=genome.labels,
                progress=False)
        baseline(genome.fasta, folder / "baseline", genome.id)
    evaluate(folder / "model", [folder / "predicted" / f"{g.id}.scores.track.npz" for g in genomes],
             [g.labels for g in genomes], folder / "evaluation",
             baseline=[folder / "baseline" / f"{g.id}.scores.track.npz" for g in genomes])
    motifs([(g.id, g.fasta, [folder / "predicted" / f"{g.id}.attention.npz"]) for g in genomes],
           folder / "motifs", "run", databases=[write_planted_database(folder / "known.meme", HOSTILE)],
           decoy=DECOY, progress=False)
    return {"title": f"Synthetic promoters {HOSTILE}", "label_qc": [folder / f"{g.id}.qc.json" for g in genomes],
            "model_dirs": [folder / "model"], "evaluation_dirs": [folder / "evaluation"],
            "motifs_dir": folder / "motifs", "motifs_prefix": "run"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # for a model this small one thread is fastest, and many times so on a busy machine
    try:
        return build_inputs(tmp_path_factory.mktemp("report"))
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def page(inputs, tmp_path_factory):
    path = report(tmp_path_factory.mktemp("page") / "report.html", **inputs)
    return path, path.read_text(encoding="utf-8")


def images(text):
    """``(mime type, bytes)`` of every <img> of a page; fails on an image that is not a data: URI."""
    found = []
    for tag in re.findall(r"<img\b[^>]*>", text):
        source = re.search(r'src="data:(image/[a-z+]+);base64,([A-Za-z0-9+/=]+)"', tag)
        assert source, f"an image that is not an embedded data: URI: {tag[:120]}"
        found.append((source.group(1), base64.b64decode(source.group(2), validate=True)))
    return found


def motif_outputs(inputs):
    folder = inputs["motifs_dir"]
    return (pd.read_csv(folder / "run.heads.tsv", sep="\t", keep_default_na=False, na_values=[""]),
            json.loads((folder / "run.motifs.json").read_text()))


def test_every_section_with_its_inputs(page, inputs):
    _, text = page
    for anchor in ("inputs", "label-qc", "training", "evaluation", "heads"):
        assert f'<section id="{anchor}">' in text and f'href="#{anchor}"' in text
    config = json.loads((inputs["model_dirs"][0] / "config.json").read_text())
    for entry in config["data"]:
        assert entry["genome_checksum"] in text and entry["contigs"][0]["md5"] in text
    qc = json.loads(inputs["label_qc"][0].read_text())
    assert f"<td class=\"n\">{qc['reads']['used']:,}</td>" in text  # alpha's reads, from its qc.json
    assert "alpha.treated.bam" in text and "jaspar2024_core_eukaryotic_decoy.transfac.gz" in text
    assert "<h3>model (alpha, beta)</h3>" in text and "<h3>evaluation (alpha, beta)</h3>" in text
    assert text.count("<h4>Model and baseline</h4>") == 1 and "alpha.scores.track.npz (pygenome baseline, " in text
    heads, summary = motif_outputs(inputs)
    motifs = heads.dropna(subset=["motif"])
    assert len(motifs) and "TATAAT" in set(motifs.consensus)  # the model found the planted -10 box
    assert f"Heads with a motif ({len(motifs)}), by enrichment q-value" in text
    cards = [text.index(f"{row.genome} · {row.head_id} · peak {row.peak}") for row in
             motifs.sort_values("q_value", kind="mergesort").itertuples()]
    assert cards == sorted(cards)  # by q-value
    if summary["recurring_groups"]:
        assert "Recurring motifs" in text


def expected_images(inputs):
    """Training, ROC/PR and the profile heat map; per motif card a profile and a logo; per head with a peak but no
    motif a profile; the recurrence figure when motifs recur."""
    heads, summary = motif_outputs(inputs)
    with_motif = heads.groupby(["genome", "head_id"])["motif"].transform(lambda motif: motif.notna().any())
    peaked = heads[~with_motif & heads.peak_offset.notna()].drop_duplicates(["genome", "head_id"])
    return 3 + 2 * heads.motif.notna().sum() + len(peaked) + bool(summary["recurring_groups"])


def test_every_image_is_embedded_and_decodes(page, inputs):
    _, text = page
    found = images(text)
    assert len(found) == expected_images(inputs)
    for kind, data in found:
        if kind == "image/png":
            image = Image.open(io.BytesIO(data))
            image.verify()
            assert image.format == "PNG" and image.size[0] > 50
        else:
            assert kind == "image/svg+xml" and b"<svg" in data[:2000]
    assert not re.search(r'(?:src|href)\s*=\s*"(?!data:|#)', text)  # nothing outside the page
    assert "url(" not in text and "@import" not in text and "http" not in text.split("<body>")[0]


def test_text_from_the_inputs_is_escaped(page):
    _, text = page
    assert "<script>alert" not in text and text.count("<script>") == 1  # the page's own check script
    # the title and the planted motifs' descriptions, shown with their matches
    assert text.count("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;") >= 2
    assert "<title>Synthetic promoters &lt;script&gt;" in text


def test_the_same_inputs_give_the_same_bytes_and_the_cli_too(page, inputs, tmp_path):
    path, _ = page
    again = report(tmp_path / "again.html", **inputs)
    assert again.read_bytes() == path.read_bytes()
    arguments = ["report", "--outdir", str(tmp_path), "--prefix", "cli", "--title", inputs["title"], "--label-qc",
                 *map(str, inputs["label_qc"]), "--model", str(inputs["model_dirs"][0]), "--evaluation",
                 str(inputs["evaluation_dirs"][0]), "--motifs", str(inputs["motifs_dir"]), "--motifs-prefix", "run"]
    assert main(arguments) == 0
    assert (tmp_path / "cli.html").read_bytes() == path.read_bytes()


def test_sections_follow_the_inputs_given(inputs, tmp_path):
    text = report(tmp_path / "qc.html", title="QC", label_qc=inputs["label_qc"]).read_text()
    assert '<section id="label-qc">' in text and '<section id="training">' not in text and "<img" not in text
    text = report(tmp_path / "eval.html", title="E", evaluation_dirs=inputs["evaluation_dirs"]).read_text()
    assert '<section id="evaluation">' in text and '<section id="heads">' not in text


def test_two_models_each_with_its_evaluation_and_the_baseline_beside_the_model(inputs, tmp_path):
    """A second model, trained on beta alone (as a survey trains one per genome), evaluated beside the baseline."""
    folder = inputs["model_dirs"][0].parent
    beta = GenomeInput("beta", str(folder / "beta.fa"), str(folder / "beta.labels.track.npz"))
    brief = {**SETTINGS, "steps": 50, "eval_every": 50, "checkpoint_every": 50}
    train([beta], tmp_path / "beta_model", *configs("cpu", brief), progress=False)
    predict(tmp_path / "beta_model", beta.fasta, tmp_path / "predicted", "beta", progress=False)
    figures = evaluate(tmp_path / "beta_model", [tmp_path / "predicted" / "beta.scores.track.npz"], [beta.labels],
                       tmp_path / "beta_evaluation", baseline=[folder / "baseline" / "beta.scores.track.npz"])
    text = report(tmp_path / "two.html", label_qc=inputs["label_qc"],
                  model_dirs=[*inputs["model_dirs"], tmp_path / "beta_model"],
                  evaluation_dirs=[*inputs["evaluation_dirs"], tmp_path / "beta_evaluation"]).read_text()
    training, evaluation = (text.split(f'<section id="{anchor}">')[1].split("</section>")[0]
                            for anchor in ("training", "evaluation"))
    assert "<h3>model (alpha, beta)</h3>" in training and "<h3>beta_model (beta)</h3>" in training
    assert training.count("<h4>Figures of the selected weights</h4>") == 2
    assert "<h3>evaluation (alpha, beta)</h3>" in evaluation and "<h3>beta_evaluation (beta)</h3>" in evaluation
    assert evaluation.count("<h4>Model and baseline</h4>") == 2
    for scorer, block in (("model", figures), ("baseline", figures["baseline"])):
        for genome, values in (("beta", block["genomes"]["beta"]), ("overall", block["overall"])):
            assert (f'<td>{genome}</td><td>{scorer}</td><td class="n">{values["roc_auc"]:.4g}</td>'
                    f'<td class="n">{values["pr_auc"]:.4g}</td>') in evaluation
    inputs_section = text.split('<section id="inputs">')[1].split("</section>")[0]
    checksum = json.loads((tmp_path / "beta_model" / "config.json").read_text())["data"][0]["genome_checksum"]
    assert inputs_section.count(f"<td class=\"mono\">{checksum}</td>") == 1  # one row per genome, merged
    assert "<td>model/config.json, beta_model/config.json, beta.qc.json</td>" in inputs_section
    assert "<h3>Model beta_model (beta)</h3>" in inputs_section and "<td>train (beta_model)</td>" in inputs_section
    assert "beta_model/config.json</td>" in inputs_section and "beta_evaluation/roc.tsv</td>" in inputs_section
    with pytest.raises(InputError, match="given twice"):
        report(tmp_path / "r.html", model_dirs=[tmp_path / "beta_model", tmp_path / "beta_model"])


def test_missing_or_unpaired_motif_inputs_are_refused(inputs, tmp_path, capsys):
    with pytest.raises(InputError, match=r"motifs[/\\]other\.heads\.tsv: not found"):
        report(tmp_path / "r.html", title="T", motifs_dir=inputs["motifs_dir"], motifs_prefix="other")
    with pytest.raises(InputError, match="go together"):
        report(tmp_path / "r.html", title="T", motifs_dir=inputs["motifs_dir"])
    with pytest.raises(InputError, match="nothing to report"):
        report(tmp_path / "r.html", title="T")
    assert main(["report", "--outdir", str(tmp_path), "--prefix", "r", "--model", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: neither a model folder nor the name of a bundled model (ecoli-cpu)" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def browser():
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def open_in_browser(binary, page, profile, *arguments, width=1280) -> subprocess.CompletedProcess:
    """Open ``page`` in headless Chromium, a window ``width`` × 2000 px, with every host unresolvable (so nothing can
    come from the network)."""
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}", f"--window-size={width},2000",
               "--virtual-time-budget=10000", *arguments, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


@pytest.mark.slow
@pytest.mark.skipif(browser() is None, reason=f"no headless browser ({', '.join(BROWSERS)}) found")
def test_the_page_renders_offline_in_chromium(page, tmp_path):
    path, text = page
    dom = open_in_browser(browser(), path, tmp_path / "profile", "--dump-dom").stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    attributes = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', body))
    assert attributes.get("data-images") == str(text.count("<img")), f"the check script did not run: {body}"
    assert attributes["data-images-loaded"] == attributes["data-images"], "an image did not load"
    assert attributes["data-overflow"] == "no", "the page is wider than the window"
    screenshot = tmp_path / "screenshot.png"
    open_in_browser(browser(), path, tmp_path / "profile", f"--screenshot={screenshot}")
    pixels = np.asarray(Image.open(screenshot).convert("L"), dtype=float)
    assert pixels.shape == (2000, 1280) and pixels.std() > 20  # not blank


@pytest.fixture(scope="module")
def survey_page(inputs, tmp_path_factory):
    """The report of every input and a survey of three genomes without labels (predicted, as a run would, by the only
    model); beside the model's evaluation, that of one trained on beta alone (``without_alpha``, as a
    leave-one-genome-out run names it) on alpha, which it never saw."""
    folder = tmp_path_factory.mktemp("survey_page")
    (folder / "survey").mkdir()
    survey = build_survey(folder / "survey")
    base = inputs["model_dirs"][0].parent
    beta = GenomeInput("beta", str(base / "beta.fa"), str(base / "beta.labels.track.npz"))
    brief = {**SETTINGS, "steps": 50, "eval_every": 50, "checkpoint_every": 50}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train([beta], folder / "without_alpha", *configs("cpu", brief), progress=False)
        predict(folder / "without_alpha", base / "alpha.fa", folder / "predicted", "alpha", progress=False)
    finally:
        torch.set_num_threads(threads)
    evaluate(folder / "without_alpha", [folder / "predicted" / "alpha.scores.track.npz"],
             [base / "alpha.labels.track.npz"], folder / "evaluate_without_alpha", which="auto")
    arguments = {**inputs, "evaluation_dirs": [*inputs["evaluation_dirs"], folder / "evaluate_without_alpha"],
                 "survey_dir": folder / "survey" / "out", "survey_prefix": "s",
                 "description": "Two labelled genomes and three surveyed without labels."}
    path = report(folder / "report.html", **arguments)
    return path, path.read_text(encoding="utf-8"), survey, arguments


def part(text, anchor):
    return text.split(f'<section id="{anchor}">')[1].split("</section>")[0]


def test_the_survey_comes_first_with_its_table_figures_and_genomes_without_labels(survey_page, inputs):
    path, text, survey, arguments = survey_page
    anchors = re.findall(r'<section id="([a-z-]+)">', text)
    assert anchors[0] == "survey" and anchors[1:] == ["inputs", "label-qc", "training", "evaluation", "heads"]
    assert re.findall(r'<a href="#([a-z-]+)">', text)[0] == "survey"
    section = part(text, "survey")
    summary = survey["summary"]
    tata = next(group for group in summary["groups"] if group["consensus"] == "TATAAT")
    sentence = re.search(r'<p class="lead">(.*?)</p>', section).group(1)
    r = f"{tata['at_fraction_vs_gc']['pearson_r']:.2f}".replace("-", "\N{MINUS SIGN}")
    assert sentence.startswith("3 genomes, 3 without labels, predicted by model model; ")
    assert (f"{tata['group']} (TATAAT at \N{MINUS SIGN}12\N{HORIZONTAL ELLIPSIS}\N{MINUS SIGN}7) found in 3 of them; "
            f"its AT fraction falls with genome GC, Pearson r = {r}") in sentence
    rows = re.findall(r"<tr class=\"unlabelled\">(.*?)</tr>", section)
    assert len(rows) == 3  # each genome, shown without labels
    threshold = json.loads((inputs["model_dirs"][0] / "config.json").read_text())["site_calling"]["min_score"]
    for row, genome in zip(rows, survey["table"].itertuples()):
        assert f'data-label="genome">{genome.genome}</th>' in row and "none: surveyed" in row
        assert f"model<br><span class=\"sub\">score ≥ {threshold:.4g} (calibrated)</span>" in row
        assert f'<td data-label="predicted sites" class="n">{genome.predicted_sites}</td>' in row
        assert f'<span class="mono">{getattr(genome, tata["group"] + "_consensus")}</span>' in row
    figures = images(section)
    assert len(figures) == 1 + len(summary["groups"])  # AT fraction against GC, the logos of each group
    assert all(kind == "image/png" for kind, _ in figures)
    stored = survey["folder"] / "out" / "s.figures"
    assert figures[0][1] == (stored / "at_fraction_vs_gc.png").read_bytes()
    assert figures[1][1] == (stored / f"{summary['groups'][0]['group']}.logos.png").read_bytes()
    assert "<td>survey</td>" in part(text, "inputs") and "out/s.tsv</td>" in part(text, "inputs")


def test_calibrated_site_calls_in_training_and_evaluation(survey_page):
    path, text, survey, arguments = survey_page
    training, evaluation = part(text, "training"), part(text, "evaluation")
    for folder in arguments["model_dirs"]:  # the model; without_alpha's record is read through its evaluation
        calling = json.loads((folder / "config.json").read_text())["site_calling"]
        threshold = calling["min_score"]
        assert f"Sites are called at score ≥ {threshold:.4g}:" in training
        for name, at, figures in (("calibrated", threshold, calling["validation"]), ("default", 0.5,
                                                                                     calling["default"])):
            assert (f'<td>{at:.4g} ({name})</td><td class="n">{figures["precision"]:.4g}</td>'
                    f'<td class="n">{figures["recall"]:.4g}</td>') in training
    assert training.count("<h4>Site calling</h4>") == 1
    joint = json.loads((arguments["evaluation_dirs"][0] / "evaluation.json").read_text())
    assert joint["genomes"]["alpha"]["set"] == "test"
    for name, figures in joint["site_calling"]["genomes"].items():
        assert (f'<td>{name}</td><td>held-out test regions</td><td class="n">{figures["precision"]:.4g}</td>'
                f'<td class="n">{figures["recall"]:.4g}</td>') in evaluation
    unseen = json.loads((arguments["evaluation_dirs"][1] / "evaluation.json").read_text())
    (name, figures), = unseen["site_calling"]["genomes"].items()
    assert unseen["genomes"][name]["set"] == "all"
    words = ("every position: the model never saw this genome (a leave-one-genome-out model, trained on the other "
             "genomes)")
    assert f"<td>{name}</td><td>{words}</td>" in evaluation
    assert evaluation.count("<h4>Sites at the calibrated threshold (score ≥ ") == 2


def test_a_survey_alone_and_unpaired_survey_options(survey_page, tmp_path):
    path, text, survey, arguments = survey_page
    alone = report(tmp_path / "alone.html", survey_dir=arguments["survey_dir"], survey_prefix="s").read_text()
    assert re.findall(r'<section id="([a-z-]+)">', alone) == ["survey", "inputs"]
    assert re.search(r'<p class="lead">3 genomes; ', alone)  # without label QC or models: labels and model unknown
    with pytest.raises(InputError, match="go together"):
        report(tmp_path / "r.html", survey_dir=arguments["survey_dir"])
    with pytest.raises(InputError, match=r"other\.tsv: not found"):
        report(tmp_path / "r.html", survey_dir=arguments["survey_dir"], survey_prefix="other")
    assert main(["report", "--outdir", str(tmp_path), "--prefix", "cli", "--survey", str(arguments["survey_dir"]),
                 "--survey-prefix", "s"]) == 0
    assert (tmp_path / "cli.html").read_bytes() == (tmp_path / "alone.html").read_bytes()


@pytest.mark.slow
@pytest.mark.skipif(browser() is None, reason=f"no headless browser ({', '.join(BROWSERS)}) found")
@pytest.mark.parametrize("width", [800, 1400])
def test_the_survey_page_fits_800_and_1400_px_in_chromium(survey_page, width, tmp_path):
    path, text, _, _ = survey_page
    dom = open_in_browser(browser(), path, tmp_path / "profile", "--dump-dom", width=width).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    attributes = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', body))
    assert attributes.get("data-images") == str(text.count("<img")), f"the check script did not run: {body}"
    assert attributes["data-images-loaded"] == attributes["data-images"], "an image did not load"
    assert attributes["data-overflow"] == "no", "the page is wider than the window"
    assert attributes["data-overflow-fit"] == "0", "the survey table is wider than its section"
    screenshot = tmp_path / "screenshot.png"
    open_in_browser(browser(), path, tmp_path / "profile", f"--screenshot={screenshot}", width=width)
    pixels = np.asarray(Image.open(screenshot).convert("L"), dtype=float)
    assert pixels.shape == (2000, width) and pixels.std() > 20
