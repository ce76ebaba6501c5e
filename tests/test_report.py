"""The report: real label, train, predict and evaluate outputs of two synthetic genomes, a motifs folder written to the
motifs step's contract (a stand-in until that step's own outputs replace it), and the page opened in headless
Chromium."""

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
from pygenome.data import GenomeInput
from pygenome.errors import InputError
from pygenome.evaluate import evaluate
from pygenome.labels import label
from pygenome.predict import predict
from pygenome.report import report
from pygenome.simulate import promoter_genome, tss_seq_libraries, write_bam, write_fasta
from pygenome.train import configs, train

SETTINGS = {"n_layers": 2, "n_heads": 2, "d_model": 16, "d_head": 8, "context": 48, "steps": 150, "batch_size": 8,
            "segment_length": 64, "eval_every": 50, "checkpoint_every": 150, "warmup_steps": 10,
            "learning_rate": 3e-3, "loss": "weighted_ce", "site_fraction": 0.3}
HOSTILE = "<script>alert(1)</script> & <b>"  # text that must reach the page escaped
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def build_inputs(folder):
    """Label (alpha: simulated TSS-seq with a control library; beta: known sites), train on both, predict and
    evaluate, and write a motifs folder; returns the report's arguments."""
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
            bed = folder / f"{name}.bed"
            bed.write_text("".join(f"chrom\t{p}\t{p + 1}\ts\t0\t{s}\n" for p, s in zip(sites.position, sites.strand)))
            label(fasta, folder, name, sites=bed, progress=False)
        genomes.append(GenomeInput(name, str(fasta), str(folder / f"{name}.labels.track.npz")))
    train(genomes, folder / "model", *configs("cpu", SETTINGS), progress=False)
    for genome in genomes:
        predict(folder / "model", genome.fasta, folder / "predicted", genome.id, progress=False)
    evaluate(folder / "model", [folder / "predicted" / f"{g.id}.scores.track.npz" for g in genomes],
             [g.labels for g in genomes], folder / "evaluation")
    write_motifs(folder / "motifs", "run")
    return {"title": f"Synthetic promoters {HOSTILE}", "label_qc": [folder / f"{g.id}.qc.json" for g in genomes],
            "model_dir": folder / "model", "evaluation_dir": folder / "evaluation", "motifs_dir": folder / "motifs",
            "motifs_prefix": "run"}


# (genome, head, peak offset, motif consensus): the heads of the 2-layer, 2-head model in the stand-in motifs folder
HEADS = [("alpha", "L2H1", -12, "TATAAT"), ("beta", "L2H1", -12, "TATAAT"), ("alpha", "L1H2", -35, "TTGACA"),
         ("beta", "L1H2", -33, None), ("alpha", "L1H1", None, None), ("beta", "L1H1", None, None),
         ("alpha", "L2H2", None, None), ("beta", "L2H2", None, None)]


def write_motifs(folder, prefix):
    """A motifs folder per the motifs step's contract, with logos drawn by logomaker from small count matrices."""
    logomaker = pytest.importorskip("logomaker")
    from matplotlib.figure import Figure

    figures = folder / f"{prefix}.figures"
    figures.mkdir(parents=True)
    rng = np.random.default_rng(0)
    heads, profiles, matches = [], [], []
    offsets = np.arange(-48, 1)
    for number, (genome, head_id, peak, consensus) in enumerate(HEADS):
        layer, head = int(head_id[1]), int(head_id[3])
        control = np.full(offsets.size, 1 / 49)
        site = control + rng.normal(0, 0.001, offsets.size)
        if peak is not None:
            site += 0.05 * np.exp(-0.5 * ((offsets - peak) / 1.5) ** 2)
        significant = (site - control > 0.01).astype(int)
        profiles.append(pd.DataFrame({
            "genome": genome, "head_id": head_id, "layer": layer, "head": head, "offset": offsets, "site_mean": site,
            "site_low": site - 0.004, "site_high": site + 0.004, "control_mean": control,
            "control_low": control - 0.003, "control_high": control + 0.003,
            "q_value": np.where(significant, 1e-4, 0.5), "significant": significant}))
        figure = Figure(figsize=(5, 2.2), dpi=80, layout="constrained")
        axis = figure.subplots()
        axis.fill_between(offsets, site - 0.004, site + 0.004, alpha=0.3)
        axis.plot(offsets, site, label="sites")
        axis.plot(offsets, control, label="controls")
        axis.set(xlabel="offset (nt)", ylabel="attention", title=f"{genome} {head_id}")
        figure.savefig(figures / f"{genome}.{head_id}.profile.png", metadata={"Software": None})
        row = {"genome": genome, "head_id": head_id, "layer": layer, "head": head, "peak_offset": peak,
               "motif": None, "consensus": None, "sites": 150, "controls": 500}  # at the peak, and only with one:
        if peak is not None:
            row.update({"peak_width": 3, "peak_excess": 0.05, "site_mean": site[offsets == peak][0],
                        "control_mean": control[0]})
        if consensus:
            counts = pd.DataFrame(rng.integers(0, 3, (len(consensus), 4)), columns=list("ACGT"))
            for position, base in enumerate(consensus):
                counts.loc[position, base] += 30
            logo = Figure(figsize=(3, 1.4), dpi=80, layout="constrained")
            logomaker.Logo(logomaker.transform_matrix(counts, from_type="counts", to_type="information"),
                           ax=logo.subplots(), color_scheme="classic")
            if number == 1:  # one head has its logo as SVG only
                logo.savefig(figures / f"{genome}.{head_id}.logo.svg", metadata={"Date": None})
            else:
                logo.savefig(figures / f"{genome}.{head_id}.logo.png", metadata={"Software": None})
            row.update({"motif": f"{genome}.{head_id}", "consensus": consensus, "width": len(consensus),
                        "information_content": 9.5, "sites_used": 100, "sites_with": 70 - 10 * number,
                        "controls_with": 12, "odds_ratio": 8.1 - number, "p_value": 10.0 ** (-8 + number),
                        "q_value": 10.0 ** (-7 + number), "best_match": "MA0001.1 sigma70" if number < 2 else HOSTILE,
                        "best_match_database": "JASPAR2024", "best_match_q": 0.002, "decoy_best_q": 0.6})
            matches += [{"genome": genome, "head_id": head_id, "query": row["motif"], "database": "JASPAR2024",
                         "target": f"MA000{k}.1",
                         "target_description": HOSTILE if number == 2 == k else f"sigma factor {k}",
                         "p_value": 1e-6 * k, "q_value": 1e-3 * k, "offset": k - 1, "overlap": 6, "strand": "+"}
                        for k in range(1, 5)]
            matches.append({"genome": genome, "head_id": head_id, "query": row["motif"], "database": "decoy",
                            "target": "DECOY1", "target_description": "decoy", "p_value": 1e-9, "q_value": 1e-9,
                            "offset": 0, "overlap": 6, "strand": "-"})
        heads.append(row)
    pd.DataFrame(heads).to_csv(folder / f"{prefix}.heads.tsv", sep="\t", index=False)
    pd.concat(profiles).to_csv(folder / f"{prefix}.profiles.tsv", sep="\t", index=False, float_format="%.6g")
    pd.DataFrame(matches).to_csv(folder / f"{prefix}.matches.tsv", sep="\t", index=False)
    pd.DataFrame({"cluster": ["R1", "R1"], "head_id": ["L2H1", "L2H1"], "genome": ["alpha", "beta"],
                  "consensus": ["TATAAT", "TATAAT"], "peak_offset": [-12, -12]}).to_csv(
        folder / f"{prefix}.recurrence.tsv", sep="\t", index=False)
    figure = Figure(figsize=(4, 2), dpi=80, layout="constrained")
    figure.subplots().bar(["alpha", "beta"], [1, 1])
    figure.savefig(figures / "recurrence.png", metadata={"Software": None})
    (folder / f"{prefix}.motifs.json").write_text(json.dumps({
        "genomes": ["alpha", "beta"], "databases": ["JASPAR2024"],
        "decoy": {"name": "JASPAR2024 shuffled", "false_match_rate": 0.04}, "heads": 8, "motifs": 3,
        "parameters": {"min_sites": 20, "q_threshold": 0.05, "note": HOSTILE}}, indent=2))


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


def test_every_section_with_its_inputs(page, inputs):
    _, text = page
    for anchor in ("inputs", "label-qc", "training", "evaluation", "heads"):
        assert f'<section id="{anchor}">' in text and f'href="#{anchor}"' in text
    config = json.loads((inputs["model_dir"] / "config.json").read_text())
    for entry in config["data"]:
        assert entry["genome_checksum"] in text and entry["contigs"][0]["md5"] in text
    qc = json.loads(inputs["label_qc"][0].read_text())
    assert f"<td class=\"n\">{qc['reads']['used']:,}</td>" in text  # alpha's reads, from its qc.json
    assert "alpha.treated.bam" in text and "TATAAT" in text and "JASPAR2024 shuffled" in text
    assert text.index("alpha · L2H1") < text.index("beta · L2H1") < text.index("alpha · L1H2")  # by q-value
    assert "Heads with a significant peak but no motif (1)" in text and "Heads without a significant peak (4)" in text
    assert "TATAAT at -12" in text and "Recurring motifs" in text and "largest excess attention" in text
    assert "DECOY1" not in text  # best matches come from the known databases only


def test_every_image_is_embedded_and_decodes(page):
    _, text = page
    found = images(text)
    kinds = [kind for kind, _ in found]
    # training, ROC/PR, profile heat map, 4 profiles, 3 logos, recurrence
    assert len(found) == 11 and kinds.count("image/svg+xml") == 1
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
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in text
    assert "<title>Synthetic promoters &lt;script&gt;" in text


def test_the_same_inputs_give_the_same_bytes_and_the_cli_too(page, inputs, tmp_path):
    path, _ = page
    again = report(tmp_path / "again.html", **inputs)
    assert again.read_bytes() == path.read_bytes()
    arguments = ["report", "--out", str(tmp_path / "cli.html"), "--title", inputs["title"], "--label-qc",
                 *map(str, inputs["label_qc"]), "--model", str(inputs["model_dir"]), "--evaluation",
                 str(inputs["evaluation_dir"]), "--motifs", str(inputs["motifs_dir"]), "--motifs-prefix", "run"]
    assert main(arguments) == 0
    assert (tmp_path / "cli.html").read_bytes() == path.read_bytes()


def test_sections_follow_the_inputs_given(inputs, tmp_path):
    text = report(tmp_path / "qc.html", title="QC", label_qc=inputs["label_qc"]).read_text()
    assert '<section id="label-qc">' in text and '<section id="training">' not in text and "<img" not in text
    text = report(tmp_path / "eval.html", title="E", evaluation_dir=inputs["evaluation_dir"]).read_text()
    assert '<section id="evaluation">' in text and '<section id="heads">' not in text


def test_missing_or_unpaired_motif_inputs_are_refused(inputs, tmp_path, capsys):
    with pytest.raises(InputError, match=r"motifs[/\\]other\.heads\.tsv: not found"):
        report(tmp_path / "r.html", title="T", motifs_dir=inputs["motifs_dir"], motifs_prefix="other")
    with pytest.raises(InputError, match="go together"):
        report(tmp_path / "r.html", title="T", motifs_dir=inputs["motifs_dir"])
    with pytest.raises(InputError, match="nothing to report"):
        report(tmp_path / "r.html", title="T")
    assert main(["report", "--out", str(tmp_path / "r.html"), "--model", str(tmp_path / "nowhere")]) == 2
    assert "nowhere/config.json: not found" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def browser():
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def open_in_browser(binary, page, profile, *arguments) -> subprocess.CompletedProcess:
    """Open ``page`` in headless Chromium with every host unresolvable (so nothing can come from the network)."""
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}", "--window-size=1280,2000",
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
