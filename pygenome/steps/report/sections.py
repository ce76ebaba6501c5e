"""What each section of the page shows, from the inputs :mod:`.read` reads: one function per section, each giving its
template (``templates/<anchor>.html.j2``) and the data the template lays out."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from pygenome import __version__
from pygenome.interpret.recurrence import aligned_similarity
from pygenome.interpret.site_classes import CLASSES
from pygenome.io.motifs import probabilities
from pygenome.model.splits import SETS
from pygenome.steps.report.figures import curves_figure, file_image, profiles_figure, training_figure
from pygenome.steps.report.page import CARD_WIDTHS, text
from pygenome.steps.report.read import sha256

MIN_AGREEMENT_OVERLAP = 3  # nt an attribution motif and a head motif must share to be compared
MATCHES_SHOWN = 3  # matches listed per head, best first
DEFAULT_MIN_SCORE = 0.5  # the threshold of a model without a calibrated one (pygenome.model.calibration's)
GROUPS_IN_SENTENCE = 3  # motif groups the survey's opening sentence names, those in most genomes first
HELD_OUT = {"test": "held-out test regions", "validation": "validation regions",
            "all": "every position: the model never saw this genome"}


def section(anchor: str, heading: str, **data) -> dict:
    """A section of the page: its anchor (and template), heading and the template's data."""
    return {"anchor": anchor, "heading": heading, "template": f"{anchor}.html.j2", **data}


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows of ``frame`` as dicts."""
    return [dict(zip(frame.columns, values)) for values in frame.itertuples(index=False)]


def model_title(model) -> str:
    """A model's subsection title: its folder's name and the genomes it was trained on."""
    genomes = [entry.get("id") for entry in model["config"].get("data", [])]
    return f"{model['folder'].name} ({', '.join(map(str, genomes))})" if genomes else model["folder"].name


def evaluation_title(evaluation) -> str:
    """An evaluation's subsection title: its folder's name and the genomes evaluated."""
    genomes = list(evaluation["figures"].get("genomes", {}))
    return f"{evaluation['folder'].name} ({', '.join(genomes)})" if genomes else evaluation["folder"].name


# Survey ---------------------------------------------------------------------------------------------------------

def _minus(value: str) -> str:
    """Offsets as the page shows them: a true minus sign."""
    return value.replace("-", "\N{MINUS SIGN}")


def _span(start, end) -> str:
    """Offsets ``start``..``end`` from the site, e.g. −12…−7."""
    return _minus(f"{int(start):+d}\N{HORIZONTAL ELLIPSIS}{int(end):+d}")


def threshold_text(min_score) -> str:
    """A model's site-calling threshold: calibrated, or the default without one."""
    if min_score is None:
        return f"{DEFAULT_MIN_SCORE:g} (default: not calibrated)"
    return f"{text(min_score)} (calibrated)"


def _model_threshold(model) -> float | None:
    """A model's calibrated site-calling threshold, or None."""
    return (model["config"].get("site_calling") or {}).get("min_score")


def _predicted_by(survey, qcs: dict, models, evaluations) -> dict:
    """Per survey genome: whether it has labels (None: unknown, no label QC or evaluation given), the model that
    predicted it and the threshold its sites were called at.

    A labelled genome's model is the one its evaluation names (the pipeline evaluates each model on the genomes it
    predicts; a genome a model never saw is named there by its FASTA path); else the model named as the genome, the
    only model given, or ``joint``. A genome without labels gets the only model given, else ``joint`` (as ``pygenome
    run`` chooses, docs/run.md). The threshold is the model's calibrated one (predict's default), else 0.5."""
    by_name = {model["folder"].name: model for model in models}
    fastas = {entry[0]: Path(entry[1]).name for entry in survey["summary"].get("parameters", {}).get("genomes", [])}
    evaluated = {}
    for evaluation in evaluations:
        figures = evaluation["figures"]
        for name in figures.get("genomes", {}):
            genome_id = next((g for g, fasta in fastas.items() if name == g or Path(name).name == fasta), None)
            if genome_id is not None:
                evaluated.setdefault(genome_id, (figures.get("model"), (figures.get("site_calling") or {})))
    known = bool(qcs or evaluations)
    only = next(iter(by_name)) if len(by_name) == 1 else None
    rows = {}
    for genome_id in survey["table"]["genome"]:
        labelled = (genome_id in qcs or genome_id in evaluated) if known else None
        name, calling = evaluated.get(genome_id, (None, {}))
        if name is None:
            name = (genome_id if labelled and genome_id in by_name else None) or only or (
                "joint" if "joint" in by_name else None)
        model = by_name.get(name)
        min_score = calling.get("min_score") if "min_score" in calling else (
            _model_threshold(model) if model is not None else None)
        rows[genome_id] = {"labels": labelled, "model": name,
                           "threshold": None if name is None else threshold_text(min_score)}
    return rows


def _trend_words(fit: dict) -> str:
    """How a group's AT fraction goes with genome GC, in words."""
    if fit.get("pearson_r") is None:
        return (f"too few genomes for a trend (n = {fit.get('n')})" if (fit.get("n") or 0) < 3 else
                "its AT fraction is the same in every genome")
    direction = "falls" if fit["pearson_r"] < 0 else "rises"
    pearson, spearman = (_minus(f"{fit[key]:.2f}") for key in ("pearson_r", "spearman_r"))
    return (f"its AT fraction {direction} with genome GC, Pearson r = {pearson} (p = {text(fit['pearson_p'])}), "
            f"Spearman \N{GREEK SMALL LETTER RHO} = {spearman}, n = {fit['n']}")


def _correlation(r, p) -> str | None:
    """A correlation and its p-value, e.g. "−0.93 (p = 0.021)"."""
    return None if r is None else f"{_minus(f'{r:.2f}')} (p = {text(p)})"


def _group_offset(rows: pd.DataFrame) -> str:
    """The offset most of a group's representative motifs sit at (the first genome's among equals)."""
    spans = list(zip(rows["motif_start"], rows["motif_end"]))
    return _span(*max(dict.fromkeys(spans), key=spans.count)) if spans else "—"


def _sentence(genomes: int, predicted: dict, groups: list[dict]) -> str:
    """The survey in one sentence: genomes, those without labels and their model, and the groups that recur in most
    genomes with their trend."""
    unlabelled = [g for g, row in predicted.items() if row["labels"] is False]
    names = list(dict.fromkeys(row["model"] for row in predicted.values() if row["model"]))
    words = f"{genomes:,} genome{'s' * (genomes != 1)}"
    if unlabelled:
        words += f", {len(unlabelled):,} without labels"
    if len(names) == 1 and all(row["model"] for row in predicted.values()):
        words += f", predicted by model {names[0]}"
    elif unlabelled and len({predicted[g]["model"] for g in unlabelled}) == 1 and predicted[unlabelled[0]]["model"]:
        words += f" (predicted by model {predicted[unlabelled[0]]['model']})"
    if len(names) > 1:
        words += f"; {len(names)} models in all (each genome's in the table)"
    if not groups:
        return words + "; no head-motif group recurs in two or more of them."
    shown = sorted(groups, key=lambda group: -len(group["genomes"]))[:GROUPS_IN_SENTENCE]
    clauses = [f"{group['group']} ({group['consensus']} at {group['offset']}) found in "
               f"{len(group['genomes']):,} of them; {_trend_words(group['at_fraction_vs_gc'])}" for group in shown]
    more = len(groups) - len(shown)
    return words + "; " + "; ".join(clauses) + (f"; and {more} more group{'s' * (more != 1)}" if more else "") + "."


def survey(survey, qcs: dict, models, evaluations) -> dict:
    """The survey first: a sentence, a row per genome (its figures, whether it has labels, the model that predicted
    it and the threshold of its sites, and per recurring group its motif there), each group's trend, the logos of
    each group side by side by genome GC and the AT fraction against GC."""
    table, long, summary = survey["table"], survey["motifs"], survey["summary"]
    shown = long[long["representative"] == 1]
    groups, trends = [], []
    for group in summary.get("groups", []):
        rows = shown[shown["group"] == group["group"]]
        fit = group.get("at_fraction_vs_gc") or {}
        offset = _group_offset(rows)
        trends.append({"group": group["group"], "consensus": group["consensus"], "offset": offset,
                       "genomes": len(group.get("genomes", [])), "slope": fit.get("slope"),
                       **{name: _correlation(fit.get(f"{name}_r"), fit.get(f"{name}_p"))
                          for name in ("pearson", "spearman")}})
        groups.append({**group, "offset": offset, "at_fraction_vs_gc": fit,
                       "logos": file_image(survey["figures"] / f"{group['group']}.logos",
                                           f"logos of {group['group']} ({group['consensus']}), one row per genome, "
                                           "lowest GC at the top")})
    predicted = _predicted_by(survey, qcs, models, evaluations)
    genomes = []
    for row in records(table):
        motifs = {}
        for group in groups:
            name = group["group"]
            consensus = row.get(f"{name}_consensus")
            offset = _minus(str(row.get(f"{name}_offset", ""))).replace("..", "\N{HORIZONTAL ELLIPSIS}")
            motifs[name] = None if not consensus else {
                "consensus": consensus, "offset": offset, "at_fraction": row.get(f"{name}_at_fraction"),
                "heads": str(row.get(f"{name}_heads", "")).replace(",", ", ")}
        genomes.append({**{key: row[key] for key in ("genome", "length", "gc", "contigs", "predicted_sites",
                                                      "sites_per_mb")},
                        **predicted[row["genome"]], "motifs": motifs})
    unknown_labels = any(row["labels"] is None for row in predicted.values())
    return section("survey", "Survey", sentence=_sentence(len(genomes), predicted, groups), note=summary.get("note"),
                   genomes=genomes, groups=groups, trends=trends, unknown_labels=unknown_labels,
                   cards=_cards_class(len(groups)),
                   scatter=file_image(survey["figures"] / "at_fraction_vs_gc",
                                      "AT fraction of each group's motif against genome GC, one point per genome"))


def _cards_class(groups: int) -> str:
    """The viewport width below which the survey table is laid out as a card per genome (so that it never overflows
    its section): the table's columns need about 640 px and 120 px per group (measured in Chromium, with room for
    longer names and numbers), the page 90 px around them."""
    needed = 640 + 120 * groups + 90
    return next((f"cards-{width}" for width in CARD_WIDTHS if needed <= width), "cards-always")


# Inputs ---------------------------------------------------------------------------------------------------------

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


def _split(config: dict) -> list[dict]:
    """Per genome, the nt of each set of the model's split; none without a split."""
    if not config.get("split"):
        return []
    split = pd.DataFrame(config["split"]).assign(nt=lambda f: f["end"] - f["start"])
    totals = split.pivot_table(index="genome", columns="set", values="nt", aggfunc="sum", sort=False)
    totals = totals[[name for name in SETS if name in totals.columns]]
    return records(totals.reset_index().fillna(0).astype({c: int for c in totals.columns}))


def _short_names(files: list[Path]) -> list[str]:
    """The files' paths from the folder holding every input folder's parent: ``model/config.json`` for one model
    folder, ``train/alpha/config.json`` and ``label/alpha.qc.json`` for a pipeline's output folder."""
    if not files:
        return []
    resolved = [path.resolve() for path in files]
    base = os.path.commonpath([path.parent.parent for path in resolved])
    return [path.relative_to(base).as_posix() for path in resolved]


def inputs(qcs: dict, models, evaluations, motifs, files: list[Path], survey=None) -> dict:
    """The genomes, the pygenome version of each step, each model's architecture, settings and split, and the files
    read with their size and SHA-256."""
    versions = {"report": __version__}
    versions.update({f"label ({genome_id})": qc.get("pygenome") for genome_id, qc in qcs.items()})
    versions.update({f"train ({model['folder'].name})": model["config"].get("pygenome") for model in models})
    versions.update({f"evaluate ({evaluation['folder'].name})": evaluation["figures"].get("pygenome")
                     for evaluation in evaluations})
    if motifs is not None and "summary" in motifs:
        versions["motifs"] = motifs["summary"].get("pygenome")
    if survey is not None:
        versions["survey"] = survey["summary"].get("pygenome")
    return section("inputs", "Inputs", genomes=_genomes(qcs, models),
                   versions=[{"step": step, "pygenome": version} for step, version in versions.items()],
                   models=[{"title": model_title(model), "architecture": model["config"].get("model", {}),
                            "training": model["config"].get("training", {}), "split": _split(model["config"])}
                           for model in models],
                   files=[{"file": name, "bytes": path.stat().st_size, "sha256": sha256(path)}
                          for name, path in zip(_short_names(files), files)])


# Label QC, training, evaluation ---------------------------------------------------------------------------------

def _dropped(reads: dict) -> str:
    """Reads dropped in all, and by reason when any were."""
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in reads.get("dropped", {}).items() if count)
    return f"{reads.get('dropped_total', 0):,}" + (f" ({reasons})" if reasons else "")


def site_classes(classes: dict) -> dict:
    """Per set of sites (a classify summary's prefix: ``<genome>.predicted``, ``<genome>.known``) the sites of each
    class (by their first class), the leaderless ones, and where known sites were given each class's precision."""
    rows = []
    for name, summary in classes.items():
        counts, precision = summary.get("class", {}), summary.get("precision")
        row = {"sites": name, "genes": summary.get("genes"), "total": summary.get("sites")}
        for kind in CLASSES:
            share = precision.get(kind, {}).get("precision") if precision else None
            row[kind] = counts.get(kind) if share is None else f"{counts.get(kind, 0):,} ({share:.0%} known)"
        row["leaderless"] = summary.get("leaderless")
        if precision:
            row["near a known site"] = precision.get("all", {}).get("precision")
        rows.append(row)
    parameters = next(iter(classes.values())).get("parameters", {})
    explanation = (
        "Each site in the classes of TSSpredator by the genes of the genome's annotation: primary (the strongest site "
        f"at most {parameters.get('utr_length')} nt upstream of a gene on its strand), secondary (the others there), "
        "internal (inside a gene on its strand), antisense (on the other strand, inside a gene or within "
        f"{parameters.get('antisense_distance')} nt of it), orphan (none of these); each site counted once, by the "
        "first of these that it is. Leaderless: a 5′ UTR of 5 nt or less. Where the sites were classed against known "
        f"ones, the share of each class within {parameters.get('distance')} nt of a known site is beside its count.")
    return section("site-classes", "Site classes", rows=rows, explanation=explanation)


def label_qc(qcs: dict) -> dict:
    """Per genome its reads, sites and bins, per contig the same, and the label step's warnings."""
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
    return section("label-qc", "Label QC", genomes=rows, contigs=contigs, warnings=warnings)


def _training(model) -> dict:
    """A model's subsection: the figures of its selected weights, its timing and its training curves."""
    config = model["config"]
    metrics = config.get("metrics", {})
    rows = [{"set": f"validation (step {config.get('best_step')}, the best by "
                    f"{config.get('training', {}).get('select_by')})",
             **{k.removeprefix("validation_"): v for k, v in (metrics.get("validation") or {}).items()
                if k.startswith("validation_")}}]
    if metrics.get("test"):
        rows.append({"set": "test", **metrics["test"]})
    history = model.get("history")
    history = history if history is not None and len(history) else None
    return {"title": model_title(model), "selected": rows, "site_calling": _site_calling(config),
            "timing": model.get("timing"),
            "figure": None if history is None else training_figure(history, config.get("best_step")),
            "history": [] if history is None else records(history)}


SITE_COLUMNS = ("precision", "recall", "f1", "predicted_sites", "labelled_sites")


def _site_calling(config: dict) -> dict | None:
    """A model's calibrated site calling: its threshold, the rule, and its validation figures beside those at the
    default 0.5; None for a model folder without one (trained before calibration)."""
    calling = config.get("site_calling")
    if not calling:
        return None
    rows = []
    for name, threshold, figures in (("calibrated", calling.get("min_score"), calling.get("validation")),
                                     ("default", DEFAULT_MIN_SCORE, calling.get("default"))):
        if figures:
            rows.append({"threshold": f"{text(threshold)} ({name})", **{k: figures.get(k) for k in SITE_COLUMNS}})
    return {"min_score": calling.get("min_score"), "distance": calling.get("distance"),
            "tolerance": calling.get("tolerance"), "chosen_by": calling.get("chosen_by"), "rows": rows}


def training(models) -> dict:
    """A subsection per model folder."""
    return section("training", "Training", models=[_training(model) for model in models])


def _baseline(figures: dict) -> dict:
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
    return {"rows": rows, "tracks": "; ".join(tracks)}


def _evaluation(evaluation) -> dict:
    """An evaluation's subsection: its AUCs, the baseline beside the model, its curves and site-level figures."""
    figures = evaluation["figures"]
    model = str(figures.get("model") or "")
    rows = [{"genome": name, **values, "set": _held_out(values.get("set", figures.get("set")), model)}
            for name, values in figures.get("genomes", {}).items()]
    if "overall" in figures:
        rows.append({"genome": "overall", **figures["overall"]})
    calling, calibrated = figures.get("site_calling"), None
    if calling:
        calibrated = [{"genome": name, "set": _held_out(figures["genomes"].get(name, {}).get("set"), model),
                       **{key: values.get(key) for key in SITE_COLUMNS}}
                      for name, values in calling.get("genomes", {}).items()]
        if calling.get("validation"):
            calibrated.append({"genome": "validation", "set": "the model's validation regions, where the threshold "
                                                              "was chosen (not held out)",
                               **{key: calling["validation"].get(key) for key in SITE_COLUMNS}})
    sites = None
    if "sites" in evaluation:
        sites = records(evaluation["sites"])
        for row in sites:
            if "calibrated" in row:
                row["calibrated"] = "calibrated" if row["calibrated"] == 1 else ""
    return {"title": evaluation_title(evaluation), "figures": figures, "rows": rows,
            "min_score": calling.get("min_score") if calling else None, "calibrated": calibrated,
            "baseline": _baseline(figures) if "baseline" in figures else None,
            "curves": curves_figure(evaluation) if "roc" in evaluation and "pr" in evaluation else None,
            "sites": sites}


def _held_out(which, model: str) -> str | None:
    """The positions a genome was evaluated on, in words; a leave-one-genome-out model (``without_<genome>``) so
    named."""
    if which is None:
        return None
    words = HELD_OUT.get(which, which)
    if which == "all" and model.startswith("without_"):
        words += " (a leave-one-genome-out model, trained on the other genomes)"
    return words


def evaluation(evaluations) -> dict:
    """A subsection per evaluate folder."""
    return section("evaluation", "Evaluation", evaluations=[_evaluation(evaluation) for evaluation in evaluations])


# Attention heads ------------------------------------------------------------------------------------------------

def _of(row: dict, count: str, total: str):
    """``row[count]``, with "of ``row[total]``" when the table has that column."""
    return f"{text(row[count])} of {text(row[total])}" if total in row else row[count]


def _head_card(row: dict, motifs) -> dict:
    """One peak of a head: the head's profile, the logo of the peak's motif, the peak, motif, enrichment and best
    matches."""
    name = f"{row['genome']} · {row['head_id']}" + (f" · peak {text(row['peak'])}" if row["motif"] else "")
    images = [file_image(motifs["figures"] / f"{row['genome']}.{row['head_id']}.profile",
                         f"attention profile of {name}")]
    if row["motif"]:
        images.append(file_image(motifs["figures"] / f"{row['motif']}.logo", f"logo of the motif of {name}"))
    facts = {"layer, head": f"{text(row['layer'])}, {text(row['head'])}",
             "peak offset (nt; − is upstream)": row["peak_offset"], "peak width (nt)": row["peak_width"],
             "excess attention at the peak": row["peak_excess"], "mean attention, sites": row["site_mean"],
             "mean attention, controls": row["control_mean"]}
    matches = []
    if row["motif"]:
        facts.update({"motif": row["motif"], "consensus": row["consensus"],
                      "motif position (nt from the site)": f"{text(row['motif_start'])} … {text(row['motif_end'])}"
                      if "motif_start" in row else None, "width (nt)": row["width"],
                      "information content (bits)": row["information_content"],
                      "sites that built it": row["sites_used"],
                      "sites with the motif": _of(row, "sites_with", "sites"),
                      "controls with the motif": _of(row, "controls_with", "controls"), "odds ratio": row["odds_ratio"],
                      "p-value": row["p_value"], "q-value": row["q_value"],
                      "best match": f"{row['best_match']} ({row['best_match_database']})" if row["best_match"]
                      else None, "best match q-value": row["best_match_q"], "best decoy q-value":
                      row["decoy_best_q"]})
        if "matches" in motifs:
            table = motifs["matches"]
            table = table[table["query"] == row["motif"]]
            if "summary" in motifs:  # known databases only, not the decoy
                table = table[table["database"].isin(motifs["summary"].get("databases", []))]
            matches = records(table.sort_values(["q_value", "p_value"], kind="mergesort").head(MATCHES_SHOWN))
    return {"name": name, "motif": row["motif"], "consensus": row["consensus"], "q_value": row["q_value"],
            "facts": facts, "images": images, "matches": matches}


def _largest_excess(profiles: pd.DataFrame) -> pd.DataFrame:
    """Per genome and head, the largest mean attention at sites minus controls over the offsets, and its offset."""
    table = profiles.assign(excess=profiles["site_mean"] - profiles["control_mean"])
    table = table.sort_values(["excess", "offset"], ascending=[False, True], kind="mergesort")
    return table.drop_duplicates(["genome", "head_id"])[["genome", "head_id", "excess", "offset"]]


def _across_genomes(heads: pd.DataFrame) -> list[dict]:
    """One row per head, one column per genome: the head's motif consensus, or its peak, there."""
    rows = {}
    for row in records(heads.sort_values(["layer", "head", "genome"], kind="mergesort")):
        entry = rows.setdefault(row["head_id"], {"head": row["head_id"]})
        if row["motif"]:
            entry[row["genome"]] = f"{row['consensus']} at {text(row['peak_offset'])}"
        elif not math.isnan(row["peak_offset"]):
            entry[row["genome"]] = f"peak at {text(row['peak_offset'])}"
    return list(rows.values())


def heads(motifs) -> dict:
    """The motifs step's summary, every head's excess attention, a card per head motif (by q-value) and per head
    with a peak but no motif (by excess), the heads without a peak, and with several genomes the heads across them
    and the motifs that recur."""
    table = motifs["heads"]
    order = ["genome", "layer", "head"]
    with_motif = table[table["motif"] != ""].sort_values(["q_value", *order], na_position="last", kind="mergesort")
    has_motif = table.groupby(["genome", "head_id"])["motif"].transform(lambda motif: (motif != "").any())
    peaked = table[~has_motif & table["peak_offset"].notna()].drop_duplicates(["genome", "head_id"])
    peaked = peaked.sort_values(["peak_excess", *order], ascending=[False, True, True, True], na_position="last",
                                kind="mergesort")
    flat = table[~has_motif & table["peak_offset"].isna()].sort_values(order, kind="mergesort")
    flat_columns = {"genome": "genome", "head_id": "head", "layer": "layer", "head": "head (in layer)"}
    if "profiles" in motifs:
        flat = flat.merge(_largest_excess(motifs["profiles"]), on=["genome", "head_id"], how="left")
        flat_columns |= {"excess": "largest excess attention (sites − controls)", "offset": "at offset (nt)"}
    genomes = list(dict.fromkeys(table["genome"]))
    profiles, recurrence = motifs.get("profiles"), motifs.get("recurrence")
    summary = motifs.get("summary") or {}
    decoy = summary.get("decoy")
    facts = {"genomes": summary.get("genomes"), "motif databases": summary.get("databases"),
             "heads": summary.get("heads"), "head motifs": summary.get("motifs"),
             "reported (enriched near sites)": summary.get("reported_motifs"),
             "decoy database": decoy["name"] if decoy else None,
             "decoy false-match rate": decoy["false_match_rate"] if decoy else None} if "summary" in motifs else None
    return section("heads", "Attention heads", summary=facts, decoy=decoy, parameters=summary.get("parameters"),
                   profiles=profiles_figure(profiles) if profiles is not None and len(profiles) else None,
                   with_motif=[_head_card(row, motifs) for row in records(with_motif)],
                   peaked=[_head_card(row, motifs) for row in records(peaked)],
                   flat=records(flat), flat_columns=flat_columns, genomes=genomes,
                   across=_across_genomes(table) if len(genomes) > 1 else None,
                   recurrence=records(recurrence) if recurrence is not None and len(recurrence) else None,
                   recurrence_figure=file_image(motifs["figures"] / "recurrence", "recurring motifs across genomes"))


# Attributions ---------------------------------------------------------------------------------------------------

def _agreement(found: pd.DataFrame, matrices: dict, motifs) -> list[dict]:
    """Rows of (attribution motif, reported head motif) pairs sharing at least :data:`MIN_AGREEMENT_OVERLAP` nt of
    offsets from the site, with the similarity of their columns there (:func:`aligned_similarity`), by decreasing
    similarity."""
    heads, head_matrices = motifs["heads"], motifs["matrices"]
    heads = heads[(heads["motif"] != "") & (heads["reported"].astype(str) == "1")] if "reported" in heads else heads
    rows = []
    for motif in records(found):
        for head in records(heads):
            first, last = max(motif["motif_start"], head["motif_start"]), min(motif["motif_end"], head["motif_end"])
            if last - first + 1 < MIN_AGREEMENT_OVERLAP or head["motif"] not in head_matrices:
                continue
            shared = [probabilities(matrix)[int(first - start):int(last - start) + 1] for matrix, start in (
                (matrices[motif["motif"]], motif["motif_start"]), (head_matrices[head["motif"]], head["motif_start"]))]
            rows.append({"method": motif["method"], "attribution_motif": motif["motif"],
                         "attribution_consensus": motif["consensus"],
                         "attribution_position": f"{text(motif['motif_start'])}..{text(motif['motif_end'])}",
                         "head": f"{head['genome']} · {head['head_id']} · peak {text(head['peak'])}",
                         "head_consensus": head["consensus"],
                         "head_position": f"{text(head['motif_start'])}..{text(head['motif_end'])}",
                         "shared_nt": int(last - first + 1), "similarity": round(aligned_similarity(*shared), 3)})
    return sorted(rows, key=lambda row: (-row["similarity"], row["attribution_motif"]))


def attribution(attribution, motifs) -> dict:
    """The attribute step's summary, its motifs with logos and matches, and, beside a motifs section, which head
    motifs agree with which attribution motifs."""
    summary, table = attribution["summary"], attribution["motifs"]
    window = summary["window"]
    facts = {"sites": summary.get("sites"), "methods": summary.get("methods"),
             "window (nt from the site)": f"{window['first_offset']}..{window['last_offset']}"}
    for method, name, count in (("integrated_gradients", "integrated gradients", "steps"),
                                ("deep_lift_shap", "DeepLIFT/SHAP", "references")):
        completeness = summary.get(method)
        if completeness:  # the two reference-based methods, each complete up to this error
            facts[f"{name}: reference, {count}"] = f"{completeness['reference']}, {completeness[count]}"
            facts[f"{name}: completeness error, mean and max (log-odds)"] = (
                f"{completeness['completeness_error_mean']:.3g}, {completeness['completeness_error_max']:.3g}")
    found = table[table["motif"] != ""]
    columns = ("method", "start", "end", "motif_start", "motif_end", "consensus", "sites_used", "best_match",
               "best_match_q")
    cards = [{"logo": file_image(attribution["figures"] / f"{row['motif']}.logo", f"logo of {row['motif']}"),
              "row": {c: row[c] for c in columns if c in row}} for row in records(found)]
    return section("attribution", "Attributions", facts=facts, cards=cards,
                   agreement=None if motifs is None else _agreement(found, attribution["matrices"], motifs),
                   min_overlap=MIN_AGREEMENT_OVERLAP)
