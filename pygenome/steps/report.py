"""The report step: the outputs of the other steps → one self-contained HTML page, readable offline.

Sections, each shown when its input is given:

1. inputs: every genome (id, FASTA, checksum, contigs) from the models' ``config.json`` and/or label ``qc.json``
   files, merged by checksum; the files read with their SHA-256, the pygenome version of each step, and each model's
   architecture, training settings and split;
2. label QC per genome (``<prefix>.qc.json``: reads, sites, warnings);
3. per model folder (several for a survey with one model per genome): training curves and the figures of the
   selected weights (its ``metrics.tsv``, ``config.json``, ``timing.json``);
4. per evaluate folder: ROC and PR curves, AUCs and site-level figures, and where the evaluation has a baseline
   (``pygenome evaluate --baseline``) its ROC and PR AUC beside the model's and its curves dashed in the figure;
5. attention heads (a motifs folder: ``<prefix>.heads.tsv`` and whatever else the motifs step wrote beside it).

Each model and evaluation has its own subsection, titled by its folder's name and its genomes.

Images are PNG or SVG data: URIs and the CSS is inline; the page's one script is inline and only records, on
``<body>``, how many images loaded and whether the page fits its width (for headless checks). Nothing is fetched.
The same inputs give the same bytes: the page holds no time but those in its inputs, and figures are PNGs without
matplotlib's version in them.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.interpret.figures import plot_curves
from pygenome.io.layout import output
from pygenome.io.motifs import probabilities, read_motifs
from pygenome.io.outputs import atomic_outputs
from pygenome.model.splits import SETS

HEADS_COLUMNS = ("genome", "head_id", "layer", "head", "peak", "peak_offset", "peak_width", "peak_excess", "site_mean",
                 "control_mean", "motif", "consensus", "width", "information_content", "sites_used", "sites_with",
                 "controls_with", "odds_ratio", "p_value", "q_value", "best_match", "best_match_database",
                 "best_match_q", "decoy_best_q")
PROFILES_COLUMNS = ("genome", "head_id", "layer", "head", "offset", "site_mean", "site_low", "site_high",
                    "control_mean", "control_low", "control_high", "q_value", "significant")
MATCHES_COLUMNS = ("genome", "head_id", "query", "database", "target", "target_description", "p_value", "q_value",
                   "offset", "overlap", "strand")
RECURRENCE_COLUMNS = ("cluster", "head_id", "genome", "consensus", "peak_offset")
ATTRIBUTION_MOTIF_COLUMNS = ("method", "peak", "start", "end", "summit", "motif", "motif_start", "motif_end",
                             "consensus", "sites_used")
MIN_AGREEMENT_OVERLAP = 3  # nt an attribution motif and a head motif must share to be compared
TEXT_COLUMNS = {"genome", "head_id", "motif", "consensus", "best_match", "best_match_database", "query", "database",
                "target", "target_description", "strand", "cluster", "scorer", "method"}
MATCHES_SHOWN = 3  # matches listed per head, best first

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1d232a;
background:#f6f7f9;line-height:1.45;font-size:15px}
main{max-width:1120px;margin:0 auto;padding:8px 24px 48px}
header{background:#1f3a5f;color:#fff;padding:18px 24px}
header h1{margin:0 auto;max-width:1120px;font-size:24px}
header p.description{margin:6px auto 0;max-width:1120px;font-size:14px;color:#dfe7f1}
nav{max-width:1120px;margin:6px auto 0;font-size:14px}
nav a{color:#cfe0f5;margin-right:18px;text-decoration:none}
section{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:6px 20px 16px;margin:18px 0}
h2{font-size:20px;border-bottom:2px solid #1f3a5f;padding-bottom:4px}
h3{font-size:16px;margin:18px 0 6px}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:13px;margin:4px 0 10px}
th,td{border-bottom:1px solid #e3e7ec;padding:3px 9px;text-align:left;vertical-align:top}
th{background:#eef2f6;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;word-break:break-all}
img{max-width:100%;height:auto;display:block;margin:4px 0}
h4{font-size:14px;margin:10px 0 4px}
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px;align-items:start}
.card{border:1px solid #dde2e8;border-radius:6px;padding:4px 14px 8px;margin:12px 0}
.card h3 .q{font-weight:400;color:#55606c;margin-left:10px}
.note{color:#55606c;font-size:13px}
.warn{color:#8a4b00}
details{margin:6px 0}
summary{cursor:pointer;color:#1f3a5f}
"""

# Records on <body> how many images decoded (naturalWidth > 0) of how many, and whether the page is wider than the
# window: what a headless browser reads back to check the page.
CHECK_SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (image) { return image.complete && image.naturalWidth > 0; });
  document.body.setAttribute("data-images", String(images.length));
  document.body.setAttribute("data-images-loaded", String(loaded.length));
  document.body.setAttribute("data-overflow",
    document.documentElement.scrollWidth > window.innerWidth ? "yes" : "no");
});
"""


def report(out, *, title: str = "pygenome report", description: str = "", label_qc=(), model_dirs=(),
           evaluation_dirs=(), motifs_dir=None, motifs_prefix=None, attribution_dir=None,
           attribution_prefix=None) -> Path:
    """Write the report of the given outputs to ``out`` (HTML, UTF-8, whole or not at all); returns its path.

    ``description``: a paragraph (plain text) shown under the title, e.g. where the data came from.

    ``label_qc``: ``<prefix>.qc.json`` files of the label step (the prefix is shown as the genome id);
    ``model_dirs``: model folders of the train step (e.g. one per genome); ``evaluation_dirs``: output folders of the
    evaluate step; ``motifs_dir`` and ``motifs_prefix``: an output folder of the motifs step and the prefix of its
    files.
    """
    if not (label_qc or model_dirs or evaluation_dirs or motifs_dir or attribution_dir):
        raise InputError("nothing to report: give label QC files (--label-qc), model folders (--model), "
                         "evaluation folders (--evaluation) and/or a motifs folder (--motifs)")
    if (motifs_dir is None) != (motifs_prefix is None):
        raise InputError("a motifs folder (--motifs) and the prefix of its files (--motifs-prefix) go together")
    if (attribution_dir is None) != (attribution_prefix is None):
        raise InputError("an attribution folder (--attribution) and the prefix of its files (--attribution-prefix) "
                         "go together")
    for kind, folders in (("model", model_dirs), ("evaluation", evaluation_dirs)):
        twice = [str(folder) for folder, count in Counter(Path(f).resolve() for f in folders).items() if count > 1]
        if twice:
            raise InputError(f"{kind} folder(s) given twice: {', '.join(twice)}; give each once")
    qc_paths = [Path(path) for path in label_qc]
    qcs = {_qc_id(path): _read_json(path, "`pygenome label` (a <prefix>.qc.json file)") for path in qc_paths}
    if len(qcs) < len(qc_paths):
        raise InputError(f"label QC files with the same prefix: {', '.join(map(str, qc_paths))}; give one per genome")
    models = [_read_model(Path(folder)) for folder in model_dirs]
    evaluations = [_read_evaluation(Path(folder)) for folder in evaluation_dirs]
    motifs = _read_motifs(Path(motifs_dir), motifs_prefix) if motifs_dir is not None else None
    attribution = _read_attribution(Path(attribution_dir), attribution_prefix) if attribution_dir else None
    files = _files_read(qc_paths, models, evaluations, motifs)
    sections = [("inputs", "Inputs", _inputs_section(qcs, models, evaluations, motifs, files))]
    if qcs:
        sections.append(("label-qc", "Label QC", _qc_section(qcs)))
    if models:
        sections.append(("training", "Training", "".join(
            f"<h3>{html.escape(_model_title(model))}</h3>{_training_section(model)}" for model in models)))
    if evaluations:
        sections.append(("evaluation", "Evaluation", "".join(
            f"<h3>{html.escape(_evaluation_title(evaluation))}</h3>{_evaluation_section(evaluation)}"
            for evaluation in evaluations)))
    if motifs is not None:
        sections.append(("heads", "Attention heads", _motifs_section(motifs)))
    if attribution is not None:
        sections.append(("attribution", "Attributions", _attribution_section(attribution, motifs)))
    out = Path(out)
    with atomic_outputs(out) as (temp,):
        temp.write_text(_page(title, description, sections), encoding="utf-8")
    return out


# Reading the inputs ---------------------------------------------------------------------------------------------

def _read_json(path: Path, written_by: str) -> dict:
    if not path.is_file():
        raise InputError(f"{path}: not found; give the outputs of {written_by}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not JSON ({error}); give the outputs of {written_by}") from error


def _read_table(path: Path, columns, written_by: str) -> pd.DataFrame:
    """A tab-separated table with a header holding ``columns`` (others kept); text columns stay text (an empty cell
    is ""), the others become numbers (an empty cell is NaN)."""
    if not path.is_file():
        raise InputError(f"{path}: not found; give the outputs of {written_by}")
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        table = pd.DataFrame(columns=list(columns))
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{path}: no column(s) {', '.join(missing)}; is it a file written by {written_by}, of "
                         "this pygenome version?")
    for column in table.columns:
        if column not in TEXT_COLUMNS:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


def _qc_id(path: Path) -> str:
    suffix = output("label", "qc").pattern.removeprefix("{prefix}")
    return path.name.removesuffix(suffix) if path.name.endswith(suffix) else path.stem


def _read_model(folder: Path) -> dict:
    written_by = "`pygenome train` (a model folder)"
    model = {"folder": folder, "config": _read_json(output("train", "config").path(folder), written_by)}
    history, timing = output("train", "history").path(folder), output("train", "timing").path(folder)
    if history.is_file():
        model["history"] = _read_table(history, ("step", "train_loss", "validation_loss"), written_by)
    if timing.is_file():
        model["timing"] = _read_json(timing, written_by)
    return model


def _read_evaluation(folder: Path) -> dict:
    written_by = "`pygenome evaluate`"
    evaluation = {"folder": folder, "figures": _read_json(output("evaluate", "evaluation").path(folder), written_by)}
    curves = {"roc": ("genome", "scorer", "false_positive_rate", "true_positive_rate"),
              "pr": ("genome", "scorer", "recall", "precision"),
              "sites": ("genome", "threshold", "precision", "recall")}
    for name, columns in curves.items():
        path = output("evaluate", name).path(folder)
        if path.is_file():
            evaluation[name] = _read_table(path, columns, written_by)
    return evaluation


def _read_motifs(folder: Path, prefix: str) -> dict:
    written_by = "`pygenome motifs`"
    heads = _read_table(output("motifs", "heads").path(folder, prefix), HEADS_COLUMNS,
                        f"{written_by} (its folder and file prefix)")
    motifs = {"folder": folder, "prefix": prefix, "heads": heads,
              "figures": output("motifs", "figures").path(folder, prefix)}
    optional = {"profiles": PROFILES_COLUMNS, "matches": MATCHES_COLUMNS, "recurrence": RECURRENCE_COLUMNS}
    for name, columns in optional.items():
        path = output("motifs", name).path(folder, prefix)
        if path.is_file():
            motifs[name] = _read_table(path, columns, written_by)
    summary = output("motifs", "summary").path(folder, prefix)
    if summary.is_file():
        motifs["summary"] = _read_json(summary, written_by)
    return motifs


def _read_attribution(folder: Path, prefix: str) -> dict:
    written_by = "`pygenome attribute` (its folder and file prefix)"
    base = folder / prefix
    return {"folder": folder, "prefix": prefix, "figures": Path(f"{base}.figures"),
            "summary": _read_json(Path(f"{base}.attribution.json"), written_by),
            "motifs": _read_table(Path(f"{base}.motifs.tsv"), ATTRIBUTION_MOTIF_COLUMNS, written_by),
            "matrices": {m.name: m for m in read_motifs(Path(f"{base}.motifs.meme"))}}


def _model_title(model) -> str:
    """A model's subsection title: its folder's name and the genomes it was trained on."""
    genomes = [entry.get("id") for entry in model["config"].get("data", [])]
    return f"{model['folder'].name} ({', '.join(map(str, genomes))})" if genomes else model["folder"].name


def _evaluation_title(evaluation) -> str:
    """An evaluation's subsection title: its folder's name and the genomes evaluated."""
    genomes = list(evaluation["figures"].get("genomes", {}))
    return f"{evaluation['folder'].name} ({', '.join(genomes)})" if genomes else evaluation["folder"].name


def _files_read(qc_paths, models, evaluations, motifs) -> list[Path]:
    """Every input file of the report that exists (figure images aside), in section order."""
    paths = list(qc_paths)
    for model in models:
        paths += [output("train", name).path(model["folder"]) for name in ("config", "weights", "history", "timing")]
    for evaluation in evaluations:
        paths += [output("evaluate", name).path(evaluation["folder"]) for name in ("evaluation", "roc", "pr", "sites")]
    if motifs is not None:
        paths += [output("motifs", name).path(motifs["folder"], motifs["prefix"])
                  for name in ("heads", "profiles", "matches", "recurrence", "summary")]
    return [path for path in paths if path.is_file()]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# HTML pieces ----------------------------------------------------------------------------------------------------

def _page(title: str, description: str, sections) -> str:
    navigation = "".join(f'<a href="#{anchor}">{html.escape(heading)}</a>' for anchor, heading, _ in sections)
    body = "".join(f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>{content}</section>'
                   for anchor, heading, content in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="pygenome {html.escape(__version__)}">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style><script>{CHECK_SCRIPT}</script></head>\n"
            f"<body><header><h1>{html.escape(title)}</h1>"
            + (f'<p class="description">{html.escape(description)}</p>' if description else "")
            + f"<nav>{navigation}</nav></header>\n<main>{body}</main>"
            "</body></html>\n")


def _text(value) -> str:
    """A cell's text, escaped: numbers to 4 significant digits, integers whole, missing values as —."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)) or (
            isinstance(value, (str, dict, list, tuple)) and not value):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating)) and float(value).is_integer()
                                                and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
    if isinstance(value, dict):
        return html.escape("; ".join(f"{k}: {_plain(v)}" for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return html.escape(", ".join(_plain(v) for v in value))
    return html.escape(str(value))


def _plain(value) -> str:
    return html.unescape(_text(value))


def _numeric(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _table(rows: list[dict], columns=None, mono=()) -> str:
    """An HTML table of ``rows`` (dicts; ``columns``: their keys shown, in order, or ``{key: heading}``), numbers
    right-aligned and ``mono`` columns in a fixed-width font; scrolls sideways rather than widen the page."""
    columns = columns or list(dict.fromkeys(key for row in rows for key in row))
    headings = columns if isinstance(columns, dict) else {c: c.replace("_", " ") for c in columns}
    head = "".join(f"<th>{html.escape(text)}</th>" for text in headings.values())
    lines = []
    for row in rows:
        cells = []
        for key in headings:
            value = row.get(key)
            style = ' class="n"' if _numeric(value) else ' class="mono"' if key in mono else ""
            cells.append(f"<td{style}>{_text(value)}</td>")
        lines.append(f"<tr>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(lines)}</tbody></table></div>'


def _pairs(mapping: dict) -> str:
    """A two-column table of ``mapping``'s items."""
    return _table([{"setting": key, "value": value} for key, value in mapping.items()])


def _records(frame: pd.DataFrame) -> list[dict]:
    return [dict(zip(frame.columns, values)) for values in frame.itertuples(index=False)]


def _image(data: bytes, kind: str, alt: str) -> str:
    mime = {"png": "image/png", "svg": "image/svg+xml"}[kind]
    return f'<img src="data:{mime};base64,{base64.b64encode(data).decode()}" alt="{html.escape(alt)}">'


def _figure_image(figure, alt: str) -> str:
    """A matplotlib figure as an embedded PNG (no software tag, so the bytes depend on the drawing alone)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return _image(buffer.getvalue(), "png", alt)


def _file_image(stem: Path, alt: str) -> str:
    """``<stem>.png`` (else ``<stem>.svg``) embedded, or "" when neither exists."""
    for kind in ("png", "svg"):
        path = Path(f"{stem}.{kind}")
        if path.is_file():
            return _image(path.read_bytes(), kind, alt)
    return ""


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


# Sections -------------------------------------------------------------------------------------------------------

def _genomes(qcs: dict, models) -> list[dict]:
    """One row per genome (by checksum) from the models' data and the label QC files, with its contigs; a genome
    described by several is shown once, as the first describes it."""
    genomes: dict[str, dict] = {}
    for model in models:
        for entry in model["config"].get("data", []):
            row = genomes.setdefault(entry["genome_checksum"], {
                "genome": entry["id"], "fasta": entry["fasta"], "label_track": entry["labels"],
                "training_sites": entry.get("training_sites"), "checksum": entry["genome_checksum"],
                "contig_list": entry["contigs"], "from": []})
            row["from"].append(f"{model['folder'].name}/config.json")
    for genome_id, qc in qcs.items():
        meta = qc.get("genome", {})
        row = genomes.setdefault(meta.get("checksum", f"qc:{genome_id}"), {
            "genome": genome_id, "fasta": meta.get("path"), "checksum": meta.get("checksum"),
            "contig_list": meta.get("contigs", []), "from": []})
        row["from"].append(f"{genome_id}.qc.json")
    for row in genomes.values():
        row["contigs"] = len(row["contig_list"])
        row["length_nt"] = sum(contig["length"] for contig in row["contig_list"])
        row["circular"] = sum(bool(contig["circular"]) for contig in row["contig_list"])
    return list(genomes.values())


def _inputs_section(qcs: dict, models, evaluations, motifs, files: list[Path]) -> str:
    parts = []
    genomes = _genomes(qcs, models)
    if genomes:
        parts.append("<h3>Genomes</h3>" + _table(genomes, {
            "genome": "genome", "fasta": "FASTA", "contigs": "contigs", "circular": "circular contigs", "length_nt":
            "length (nt)", "label_track": "label track", "training_sites": "training sites", "checksum":
            "genome checksum (SHA-256)", "from": "described by"}, mono=("checksum",)))
        parts.append('<p class="note">The genome checksum is the SHA-256 of each contig\'s name, length and MD5; '
                     "equal checksums mean equal genomes.</p>")
        for row in genomes:
            parts.append(f"<details><summary>contigs of {html.escape(str(row['genome']))}</summary>"
                         + _table(row["contig_list"], ("name", "length", "circular", "md5"), mono=("md5",))
                         + "</details>")
    versions = {"report": __version__}
    versions.update({f"label ({genome_id})": qc.get("pygenome") for genome_id, qc in qcs.items()})
    versions.update({f"train ({model['folder'].name})": model["config"].get("pygenome") for model in models})
    versions.update({f"evaluate ({evaluation['folder'].name})": evaluation["figures"].get("pygenome")
                     for evaluation in evaluations})
    if motifs is not None and "summary" in motifs:
        versions["motifs"] = motifs["summary"].get("pygenome")
    parts.append("<h3>pygenome version of each step</h3>" + _table(
        [{"step": step, "pygenome": version} for step, version in versions.items()]))
    for model in models:
        config = model["config"]
        parts.append(f"<h3>Model {html.escape(_model_title(model))}</h3>"
                     '<div class="pair"><div><h4>Architecture</h4>' + _pairs(config.get("model", {}))
                     + "</div><div><h4>Training settings</h4>" + _pairs(config.get("training", {})) + "</div></div>")
        if config.get("split"):
            split = pd.DataFrame(config["split"]).assign(nt=lambda f: f["end"] - f["start"])
            totals = split.pivot_table(index="genome", columns="set", values="nt", aggfunc="sum", sort=False)
            totals = totals[[name for name in SETS if name in totals.columns]]
            parts.append("<h4>Split of each genome (nt per set)</h4>" + _table(
                _records(totals.reset_index().fillna(0).astype({c: int for c in totals.columns}))))
    parts.append("<h3>Input files</h3>" + _table(
        [{"file": name, "bytes": path.stat().st_size, "sha256": _sha256(path)} for name, path in
         zip(_short_names(files), files)], mono=("sha256",)))
    return "".join(parts)


def _short_names(files: list[Path]) -> list[str]:
    """The files' paths from the folder holding every input folder's parent: ``model/config.json`` for one model
    folder, ``train/alpha/config.json`` and ``label/alpha.qc.json`` for a pipeline's output folder."""
    if not files:
        return []
    resolved = [path.resolve() for path in files]
    base = os.path.commonpath([path.parent.parent for path in resolved])
    return [path.relative_to(base).as_posix() for path in resolved]


def _qc_section(qcs: dict) -> str:
    rows, contigs, warnings = [], [], []
    for genome_id, qc in qcs.items():
        parameters, reads, sites = qc.get("parameters", {}), qc.get("reads", {}), qc.get("sites", {})
        sources = [parameters.get("bam"), parameters.get("control_bam"), parameters.get("sites"),
                   *parameters.get("peaks", [])]
        strands = sites.get("by_strand", {})
        rows.append({
            "genome": genome_id, "FASTA": parameters.get("fasta"), "labelled from": [s for s in sources if s],
            "contigs": len(qc.get("contigs", {})), "reads seen": reads.get("seen"), "reads used": reads.get("used"),
            "reads dropped": _dropped(reads) if reads else None, "library size": reads.get("library_size"),
            "control reads used": qc.get("control_reads", {}).get("used"), "sites": sites.get("total"),
            "by source": sites.get("by_source"),
            "+ / − strand": f"{strands.get('+', 0):,} / {strands.get('-', 0):,}" if strands else None,
            "bins": qc.get("bins", {}).get("total"), "warnings": len(qc.get("warnings", []))})
        for name, figures in qc.get("contigs", {}).items():
            contigs.append({"genome": genome_id, "contig": name, "length": figures.get("length"),
                            "circular": figures.get("circular"), "reads used": figures.get("reads", {}).get("used"),
                            "signal per strand (+, −)": figures.get("signal_per_strand"),
                            "sites called": figures.get("sites_called"), "sites known": figures.get("sites_known"),
                            "sites": figures.get("sites")})
        warnings += [f"{genome_id}: {warning}" for warning in qc.get("warnings", [])]
    parts = [_table(rows), "<details><summary>per contig</summary>" + _table(contigs) + "</details>"]
    if warnings:
        parts.append('<h3>Warnings</h3><ul class="warn">' + "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
                     + "</ul>")
    return "".join(parts)


def _dropped(reads: dict) -> str:
    """Reads dropped in all, and by reason when any were."""
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in reads.get("dropped", {}).items() if count)
    return f"{reads.get('dropped_total', 0):,}" + (f" ({reasons})" if reasons else "")


def _training_section(model) -> str:
    config, parts = model["config"], []
    metrics = config.get("metrics", {})
    rows = [{"set": f"validation (step {config.get('best_step')}, the best by "
                    f"{config.get('training', {}).get('select_by')})",
             **{k.removeprefix("validation_"): v for k, v in (metrics.get("validation") or {}).items()
                if k.startswith("validation_")}}]
    if metrics.get("test"):
        rows.append({"set": "test", **metrics["test"]})
    parts.append("<h4>Figures of the selected weights</h4>" + _table(
        rows, {"set": "set", "loss": "loss", "roc_auc": "ROC AUC", "pr_auc": "PR AUC", "positions": "positions",
               "positives": "positives"}))
    if "timing" in model:
        parts.append("<h4>Run (timing.json)</h4>" + _pairs(model["timing"]))
    history = model.get("history")
    if history is not None and len(history):
        parts.append("<h4>Training curves</h4>" + _training_figure(history, config.get("best_step")))
        parts.append("<details><summary>every evaluation (metrics.tsv)</summary>" + _table(_records(history))
                     + "</details>")
    return "".join(parts)


def _training_figure(history: pd.DataFrame, best_step) -> str:
    """Loss (training and validation) and validation ROC and PR AUC against the step, the best step marked."""
    figure = _new_figure(10, 3.6)
    loss, auc = figure.subplots(1, 2)
    loss.plot(history["step"], history["train_loss"], marker="o", markersize=3, label="training (mean since the "
                                                                                     "last evaluation)")
    loss.plot(history["step"], history["validation_loss"], marker="o", markersize=3, label="validation")
    loss.set(xlabel="step", ylabel="loss", title="loss")
    for column, name in (("validation_roc_auc", "ROC AUC"), ("validation_pr_auc", "PR AUC")):
        if column in history:
            auc.plot(history["step"], history[column], marker="o", markersize=3, label=name)
    auc.set(xlabel="step", ylim=(0, 1.02), title="validation")
    for axis in (loss, auc):
        if best_step is not None:
            axis.axvline(best_step, color="grey", linestyle=":", linewidth=1, label="best step")
        axis.legend(fontsize=8)
    return _figure_image(figure, "training and validation loss, and validation ROC and PR AUC, against the step")


def _evaluation_section(evaluation) -> str:
    figures = evaluation["figures"]
    parts = [f"<p>Model folder {_text(figures.get('model'))}, {_text(figures.get('set'))} set. Position level: "
             "every position of the set on both strands. Site level: predicted sites are score peaks at least "
             f"{_text(figures.get('distance'))} nt apart, and a predicted site hits a labelled one within "
             f"{_text(figures.get('tolerance'))} nt on the same strand.</p>"]
    rows = [{"genome": name, **values} for name, values in figures.get("genomes", {}).items()]
    if "overall" in figures:
        rows.append({"genome": "overall", **figures["overall"]})
    parts.append(_table(rows, {"genome": "genome", "roc_auc": "ROC AUC", "pr_auc": "PR AUC (average precision)",
                               "positions": "positions", "positives": "positives", "prevalence": "prevalence"}))
    if "baseline" in figures:
        parts.append("<h4>Model and baseline</h4>" + _baseline_comparison(figures))
    if "roc" in evaluation and "pr" in evaluation:
        buffer = io.BytesIO()
        plot_curves(evaluation["roc"], evaluation["pr"], figures, buffer)
        alt = "ROC and precision-recall curves" + (" (baseline dashed)" if "baseline" in figures else "")
        parts.append("<h4>ROC and precision-recall curves</h4>" + _image(buffer.getvalue(), "png", alt))
    if "sites" in evaluation:
        parts.append("<h4>Site level, by score threshold</h4>" + _table(_records(evaluation["sites"])))
    return "".join(parts)


def _baseline_comparison(figures) -> str:
    """ROC and PR AUC of the model and of the baseline on the same positions, per genome and overall, and the
    baseline's tracks and what made them."""
    baseline, rows = figures["baseline"], []
    for name in [*figures.get("genomes", {}), "overall"]:
        for scorer, block in (("model", figures), ("baseline", baseline)):
            values = block.get("overall") if name == "overall" else block.get("genomes", {}).get(name)
            if values is not None:
                rows.append({"genome": name, "scorer": scorer, **values})
    tracks = []
    for track in baseline.get("tracks", []):
        producer = track.get("producer", {})
        parameters = producer.get("parameters", {})
        made_by = f"pygenome {producer.get('step')}"
        if "matrix" in parameters:
            made_by += f", {parameters['matrix']} at offsets {' … '.join(map(str, parameters['offsets']))}"
        tracks.append(f"{track.get('file')} ({made_by})")
    return (_table(rows, {"genome": "genome", "scorer": "scorer", "roc_auc": "ROC AUC", "pr_auc": "PR AUC"})
            + f'<p class="note">Baseline: {html.escape("; ".join(tracks))}; scored on the same positions as the '
            "model.</p>")


def _motifs_section(motifs) -> str:
    heads, parts = motifs["heads"], []
    summary = motifs.get("summary")
    if summary is not None:
        decoy = summary.get("decoy")
        parts.append(_pairs({"genomes": summary.get("genomes"), "motif databases": summary.get("databases"),
                             "heads": summary.get("heads"), "head motifs": summary.get("motifs"),
                             "reported (enriched near sites)": summary.get("reported_motifs"),
                             "decoy database": decoy["name"] if decoy else None,
                             "decoy false-match rate": decoy["false_match_rate"] if decoy else None}))
        if decoy:
            parts.append(f'<p class="note">The decoy false-match rate is the fraction of reported head motifs with '
                         f"a match in the decoy database ({html.escape(str(decoy['name']))}) at the q-value that known "
                         "matches must reach. Every decoy match is false, so it estimates how often a best match is "
                         "chance."
                         "</p>")
        if summary.get("parameters"):
            parts.append("<details><summary>parameters of the motifs step</summary>"
                         + _pairs(summary["parameters"]) + "</details>")
    if "profiles" in motifs and len(motifs["profiles"]):
        parts.append("<h3>Attention at sites over controls, every head</h3>" + _profiles_figure(motifs["profiles"]))
    order = ["genome", "layer", "head"]
    with_motif = heads[heads["motif"] != ""].sort_values(["q_value", *order], na_position="last", kind="mergesort")
    has_motif = heads.groupby(["genome", "head_id"])["motif"].transform(lambda motif: (motif != "").any())
    peaked = heads[~has_motif & heads["peak_offset"].notna()].drop_duplicates(["genome", "head_id"])
    peaked = peaked.sort_values(["peak_excess", *order], ascending=[False, True, True, True], na_position="last",
                                kind="mergesort")
    flat = heads[~has_motif & heads["peak_offset"].isna()].sort_values(order, kind="mergesort")
    parts.append(f"<h3>Heads with a motif ({len(with_motif)}), by enrichment q-value</h3>")
    parts += [_head_card(row, motifs) for row in _records(with_motif)] or ['<p class="note">none</p>']
    if len(peaked):
        parts.append(f"<h3>Heads with a significant peak but no motif ({len(peaked)}), by excess attention</h3>")
        parts += [_head_card(row, motifs) for row in _records(peaked)]
    if len(flat):
        columns = {"genome": "genome", "head_id": "head", "layer": "layer", "head": "head (in layer)"}
        if "profiles" in motifs:
            flat = flat.merge(_largest_excess(motifs["profiles"]), on=["genome", "head_id"], how="left")
            columns |= {"excess": "largest excess attention (sites − controls)", "offset": "at offset (nt)"}
        parts.append(f"<h3>Heads without a significant peak ({len(flat)})</h3>" + _table(_records(flat), columns))
    genomes = list(dict.fromkeys(heads["genome"]))
    if len(genomes) > 1:
        parts.append("<h3>Heads across genomes</h3>" + _cross_genome_table(heads, genomes))
    if "recurrence" in motifs and len(motifs["recurrence"]):
        parts.append("<h3>Recurring motifs</h3>" + _table(_records(motifs["recurrence"]), mono=("consensus",))
                     + _file_image(motifs["figures"] / "recurrence", "recurring motifs across genomes"))
    return "".join(parts)


def _attribution_section(attribution, motifs) -> str:
    """The attribute step's summary, its motifs with logos and matches, and, beside a motifs section, which head
    motifs agree with which attribution motifs."""
    summary, table = attribution["summary"], attribution["motifs"]
    completeness = summary.get("integrated_gradients") or {}
    window = summary["window"]
    facts = {"sites": summary.get("sites"), "methods": summary.get("methods"),
             "window (nt from the site)": f"{window['first_offset']}..{window['last_offset']}"}
    if completeness:
        facts["integrated gradients: reference, steps"] = f"{completeness['reference']}, {completeness['steps']}"
        facts["completeness error, mean and max (log-odds)"] = (f"{completeness['completeness_error_mean']:.3g}, "
                                                                f"{completeness['completeness_error_max']:.3g}")
    parts = [_pairs(facts)]
    found = table[table["motif"] != ""]
    parts.append(f"<h3>Attribution motifs ({len(found)})</h3>")
    for row in _records(found):
        columns = [c for c in ("method", "start", "end", "motif_start", "motif_end", "consensus", "sites_used",
                               "best_match", "best_match_q") if c in row]
        parts.append('<div class="card">' + _file_image(attribution["figures"] / f"{row['motif']}.logo",
                                                         f"logo of {row['motif']}")
                     + _table([{c: row[c] for c in columns}], mono=("consensus",)) + "</div>")
    if motifs is not None:
        agreement = _agreement(found, attribution["matrices"], motifs)
        parts.append("<h3>Which heads agree with which attribution motifs</h3>"
                     '<p class="note">A head motif agrees with an attribution motif when they share at least '
                     f"{MIN_AGREEMENT_OVERLAP} nt of offsets from the site; similarity is the mean correlation of "
                     "their columns at the shared offsets (1: the same letters in the same places).</p>"
                     + (_table(agreement, mono=("attribution_consensus", "head_consensus")) if agreement
                        else '<p class="note">none overlap</p>'))
    return "".join(parts)


def _agreement(found: pd.DataFrame, matrices: dict, motifs) -> list[dict]:
    """Rows of (attribution motif, reported head motif) pairs sharing offsets, by decreasing similarity."""
    heads = motifs["heads"]
    heads = heads[(heads["motif"] != "") & (heads["reported"].astype(str) == "1")] if "reported" in heads else heads
    meme = Path(f"{motifs['folder'] / motifs['prefix']}.motifs.meme")
    head_matrices = {m.name: m for m in read_motifs(meme)} if meme.is_file() else {}
    rows = []
    for motif in _records(found):
        for head in _records(heads):
            first, last = max(motif["motif_start"], head["motif_start"]), min(motif["motif_end"], head["motif_end"])
            if last - first + 1 < MIN_AGREEMENT_OVERLAP or head["motif"] not in head_matrices:
                continue
            a = probabilities(matrices[motif["motif"]])[int(first - motif["motif_start"]):
                                                         int(last - motif["motif_start"]) + 1]
            b = probabilities(head_matrices[head["motif"]])[int(first - head["motif_start"]):
                                                            int(last - head["motif_start"]) + 1]
            correlation = np.mean([np.corrcoef(x, y)[0, 1] for x, y in zip(a, b) if x.std() and y.std()] or [np.nan])
            rows.append({"method": motif["method"], "attribution_motif": motif["motif"],
                         "attribution_consensus": motif["consensus"],
                         "attribution_position": f"{_plain(motif['motif_start'])}..{_plain(motif['motif_end'])}",
                         "head": f"{head['genome']} · {head['head_id']} · peak {_plain(head['peak'])}",
                         "head_consensus": head["consensus"],
                         "head_position": f"{_plain(head['motif_start'])}..{_plain(head['motif_end'])}",
                         "shared_nt": int(last - first + 1), "similarity": round(float(correlation), 3)})
    return sorted(rows, key=lambda row: (-np.nan_to_num(row["similarity"], nan=-2), row["attribution_motif"]))


def _head_card(row: dict, motifs) -> str:
    """One peak of a head: the head's profile, the logo of the peak's motif, the peak, motif, enrichment and best
    matches."""
    name = f"{row['genome']} · {row['head_id']}" + (f" · peak {_plain(row['peak'])}" if row["motif"] else "")
    images = [_file_image(motifs["figures"] / f"{row['genome']}.{row['head_id']}.profile",
                          f"attention profile of {name}")]
    if row["motif"]:
        images.append(_file_image(motifs["figures"] / f"{row['motif']}.logo", f"logo of the motif of {name}"))
    facts = {"layer, head": f"{_plain(row['layer'])}, {_plain(row['head'])}",
             "peak offset (nt; − is upstream)": row["peak_offset"], "peak width (nt)": row["peak_width"],
             "excess attention at the peak": row["peak_excess"], "mean attention, sites": row["site_mean"],
             "mean attention, controls": row["control_mean"]}
    if row["motif"]:
        facts.update({"motif": row["motif"], "consensus": row["consensus"],
                      "motif position (nt from the site)": f"{_plain(row['motif_start'])} … {_plain(row['motif_end'])}"
                      if "motif_start" in row else None, "width (nt)": row["width"],
                      "information content (bits)": row["information_content"],
                      "sites that built it": row["sites_used"],
                      "sites with the motif": _of(row, "sites_with", "sites"),
                      "controls with the motif": _of(row, "controls_with", "controls"), "odds ratio": row["odds_ratio"],
                      "p-value": row["p_value"], "q-value": row["q_value"],
                      "best match": f"{row['best_match']} ({row['best_match_database']})" if row["best_match"]
                      else None, "best match q-value": row["best_match_q"], "best decoy q-value":
                      row["decoy_best_q"]})
    matches = ""
    if row["motif"] and "matches" in motifs:
        table = motifs["matches"]
        table = table[table["query"] == row["motif"]]
        if "summary" in motifs:  # known databases only, not the decoy
            table = table[table["database"].isin(motifs["summary"].get("databases", []))]
        table = table.sort_values(["q_value", "p_value"], kind="mergesort").head(MATCHES_SHOWN)
        if len(table):
            matches = "<h4>Best matches</h4>" + _table(_records(table), {
                "target": "target", "target_description": "description", "database": "database", "q_value": "q",
                "offset": "offset", "strand": "strand"})
    quality = f'<span class="q">q = {_text(row["q_value"])}</span>' if row["motif"] else ""
    consensus = f' <span class="mono">{html.escape(row["consensus"])}</span>' if row["motif"] else ""
    return (f'<div class="card"><h3>{html.escape(name)}{consensus}{quality}</h3>'
            f'<div class="pair"><div>{_pairs(facts)}</div><div>{"".join(images)}{matches}</div></div></div>')


def _of(row: dict, count: str, total: str):
    """``row[count]``, with "of ``row[total]``" when the table has that column."""
    return f"{_plain(row[count])} of {_plain(row[total])}" if total in row else row[count]


def _largest_excess(profiles: pd.DataFrame) -> pd.DataFrame:
    """Per genome and head, the largest mean attention at sites minus controls over the offsets, and its offset."""
    table = profiles.assign(excess=profiles["site_mean"] - profiles["control_mean"])
    table = table.sort_values(["excess", "offset"], ascending=[False, True], kind="mergesort")
    return table.drop_duplicates(["genome", "head_id"])[["genome", "head_id", "excess", "offset"]]


def _cross_genome_table(heads: pd.DataFrame, genomes: list[str]) -> str:
    """One row per head, one column per genome: the head's motif consensus, or its peak, there."""
    rows = {}
    for row in _records(heads.sort_values(["layer", "head", "genome"], kind="mergesort")):
        entry = rows.setdefault(row["head_id"], {"head": row["head_id"]})
        if row["motif"]:
            entry[row["genome"]] = f"{row['consensus']} at {_plain(row['peak_offset'])}"
        elif not math.isnan(row["peak_offset"]):
            entry[row["genome"]] = f"peak at {_plain(row['peak_offset'])}"
    return _table(list(rows.values()), ["head", *genomes], mono=genomes)


def _profiles_figure(profiles: pd.DataFrame) -> str:
    """A heat map of mean attention at sites minus at controls, one row per head and one column per offset;
    significant offsets dotted."""
    profiles = profiles.assign(excess=profiles["site_mean"] - profiles["control_mean"])
    rows = profiles[["genome", "head_id", "layer", "head"]].drop_duplicates().sort_values(
        ["genome", "layer", "head"], kind="mergesort")
    keys = list(zip(rows["genome"], rows["head_id"]))
    offsets = np.sort(profiles["offset"].unique())
    grid = np.full((len(keys), len(offsets)), np.nan)
    row_of = {key: i for i, key in enumerate(keys)}
    row_index = np.array([row_of[key] for key in zip(profiles["genome"], profiles["head_id"])])
    column_index = np.searchsorted(offsets, profiles["offset"].to_numpy())
    grid[row_index, column_index] = profiles["excess"].to_numpy()
    finite = np.abs(grid[np.isfinite(grid)])
    limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    figure = _new_figure(10, 1.2 + 0.22 * len(keys))
    axis = figure.subplots()
    shown = axis.imshow(grid, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest",
                        extent=(offsets[0] - 0.5, offsets[-1] + 0.5, len(keys) - 0.5, -0.5))
    significant = profiles[profiles["significant"] == 1]
    axis.scatter(significant["offset"], [row_of[k] for k in zip(significant["genome"], significant["head_id"])],
                 s=4, color="black", label="significant")
    axis.set_yticks(range(len(keys)), [f"{genome} {head}" for genome, head in keys], fontsize=8)
    axis.set(xlabel="offset from the site (nt; negative is upstream)")
    figure.colorbar(shown, ax=axis, label="attention, sites − controls", shrink=0.9)
    return _figure_image(figure, "attention at sites minus controls for every head and offset")
