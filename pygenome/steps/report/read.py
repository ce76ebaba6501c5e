"""The report's inputs read through the readers of :mod:`pygenome.io`, at the paths :mod:`pygenome.io.layout`
declares: a model folder's record (:func:`~pygenome.io.model_store.read_record`), the steps' tables and JSON
records (:mod:`pygenome.io.tables`) and motif matrices (:func:`~pygenome.io.motifs.read_motifs`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pygenome.io.layout import output
from pygenome.io.model_store import read_record
from pygenome.io.motifs import read_motifs
from pygenome.io.tables import read_json, read_table

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
EVALUATION_COLUMNS = {"roc": ("genome", "scorer", "false_positive_rate", "true_positive_rate"),
                      "pr": ("genome", "scorer", "recall", "precision"),
                      "sites": ("genome", "threshold", "precision", "recall")}
TEXT_COLUMNS = frozenset({"genome", "head_id", "motif", "consensus", "best_match", "best_match_database", "query",
                          "database", "target", "target_description", "strand", "cluster", "scorer", "method"})
SURVEY_COLUMNS = ("genome", "length", "gc", "contigs", "predicted_sites", "sites_per_mb")
SURVEY_MOTIF_COLUMNS = ("genome", "gc", "group", "head_id", "motif", "consensus", "motif_start", "motif_end",
                        "at_fraction", "representative")
SURVEY_TEXT_SUFFIXES = ("_consensus", "_offset", "_heads")  # the wide table's text columns of each group


def qc_id(path: Path) -> str:
    """The genome id of a label QC file: its prefix."""
    suffix = output("label", "qc").pattern.removeprefix("{prefix}")
    return path.name.removesuffix(suffix) if path.name.endswith(suffix) else path.stem


def read_qc(path: Path) -> dict:
    """A label QC record (``<prefix>.qc.json``)."""
    return read_json(path, "`pygenome label` (a <prefix>.qc.json file)")


def classes_id(path: Path) -> str:
    """The name of a classify summary (``<prefix>.classes.json``): its prefix (``<genome>.predicted`` in a run)."""
    suffix = output("classify", "summary").pattern.removeprefix("{prefix}")
    return path.name.removesuffix(suffix) if path.name.endswith(suffix) else path.stem


def read_classes(path: Path) -> dict:
    """A classify summary (``<prefix>.classes.json``)."""
    return read_json(path, "`pygenome classify` (a <prefix>.classes.json file)")


def read_model(folder: Path) -> dict:
    """A model folder: ``folder``, ``config`` (its record) and, where written, ``history`` (``metrics.tsv``) and
    ``timing``."""
    written_by = "`pygenome train` (a model folder)"
    model = {"folder": folder, "config": read_record(folder)}
    history, timing = output("train", "history").path(folder), output("train", "timing").path(folder)
    if history.is_file():
        model["history"] = read_table(history, ("step", "train_loss", "validation_loss"), written_by, TEXT_COLUMNS)
    if timing.is_file():
        model["timing"] = read_json(timing, written_by)
    return model


def read_evaluation(folder: Path) -> dict:
    """An evaluate folder: ``folder``, ``figures`` (``evaluation.json``) and, where written, its ``roc``, ``pr`` and
    ``sites`` tables."""
    written_by = "`pygenome evaluate`"
    evaluation = {"folder": folder, "figures": read_json(output("evaluate", "evaluation").path(folder), written_by)}
    for name, columns in EVALUATION_COLUMNS.items():
        path = output("evaluate", name).path(folder)
        if path.is_file():
            evaluation[name] = read_table(path, columns, written_by, TEXT_COLUMNS)
    return evaluation


def read_motifs_outputs(folder: Path, prefix: str) -> dict:
    """A motifs folder: ``folder``, ``prefix``, ``heads``, ``figures`` (the folder of images), ``matrices`` (the head
    motifs by name) and, where written, ``profiles``, ``matches``, ``recurrence`` and ``summary``."""
    written_by = "`pygenome motifs`"
    heads = read_table(output("motifs", "heads").path(folder, prefix), HEADS_COLUMNS,
                       f"{written_by} (its folder and file prefix)", TEXT_COLUMNS)
    meme = output("motifs", "meme").path(folder, prefix)
    motifs = {"folder": folder, "prefix": prefix, "heads": heads,  # no head motif: an empty .meme file
              "figures": output("motifs", "figures").path(folder, prefix),
              "matrices": {m.name: m for m in read_motifs(meme)} if heads["motif"].ne("").any() else {}}
    optional = {"profiles": PROFILES_COLUMNS, "matches": MATCHES_COLUMNS, "recurrence": RECURRENCE_COLUMNS}
    for name, columns in optional.items():
        path = output("motifs", name).path(folder, prefix)
        if path.is_file():
            motifs[name] = read_table(path, columns, written_by, TEXT_COLUMNS)
    summary = output("motifs", "summary").path(folder, prefix)
    if summary.is_file():
        motifs["summary"] = read_json(summary, written_by)
    return motifs


def read_attribution(folder: Path, prefix: str) -> dict:
    """An attribute folder: ``folder``, ``prefix``, ``figures`` (the folder of images), ``summary``, ``motifs`` (the
    table) and ``matrices`` (the motifs by name)."""
    written_by = "`pygenome attribute` (its folder and file prefix)"

    def path(name: str) -> Path:
        return output("attribute", name).path(folder, prefix)

    return {"folder": folder, "prefix": prefix, "figures": path("figures"),
            "summary": read_json(path("summary"), written_by),
            "motifs": read_table(path("motifs"), ATTRIBUTION_MOTIF_COLUMNS, written_by, TEXT_COLUMNS),
            "matrices": {m.name: m for m in read_motifs(path("meme"))}}


def read_survey(folder: Path, prefix: str) -> dict:
    """A survey folder: ``folder``, ``prefix``, ``table`` (the wide table, a row per genome), ``motifs`` (the long
    table), ``summary`` (its JSON record) and ``figures`` (the folder of images)."""
    written_by = "`pygenome survey` (its folder and file prefix)"

    def path(name: str) -> Path:
        return output("survey", name).path(folder, prefix)

    table = path("table")
    header = table.read_text(encoding="utf-8").partition("\n")[0].split("\t") if table.is_file() else []
    text = frozenset({"genome", *(c for c in header if c.endswith(SURVEY_TEXT_SUFFIXES))})
    return {"folder": folder, "prefix": prefix, "figures": path("figures"),
            "table": read_table(table, SURVEY_COLUMNS, written_by, text),
            "motifs": read_table(path("motifs"), SURVEY_MOTIF_COLUMNS, written_by, TEXT_COLUMNS | {"group"}),
            "summary": read_json(path("summary"), written_by)}


def files_read(qc_paths, models, evaluations, motifs, attribution=None, survey=None, class_paths=()) -> list[Path]:
    """Every input file of the report that exists (figure images aside), in section order."""
    paths = [] if survey is None else [output("survey", name).path(survey["folder"], survey["prefix"])
                                       for name in ("table", "motifs", "summary")]
    paths += list(qc_paths) + list(class_paths)
    for model in models:
        paths += [output("train", name).path(model["folder"]) for name in ("config", "weights", "history", "timing")]
    for evaluation in evaluations:
        paths += [output("evaluate", name).path(evaluation["folder"]) for name in ("evaluation", "roc", "pr", "sites")]
    if motifs is not None:
        paths += [output("motifs", name).path(motifs["folder"], motifs["prefix"])
                  for name in ("heads", "profiles", "matches", "recurrence", "summary")]
    if attribution is not None:
        paths += [output("attribute", name).path(attribution["folder"], attribution["prefix"])
                  for name in ("summary", "motifs", "meme")]
    return [path for path in paths if path.is_file()]


def sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
