"""What each section of the page shows, from the inputs :mod:`.read` reads: one function per section, each giving its
template (``templates/<anchor>.html.j2``) and the data the template lays out."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from pygenome import __version__
from pygenome.interpret.recurrence import aligned_similarity
from pygenome.io.motifs import probabilities
from pygenome.model.splits import SETS
from pygenome.steps.report.figures import curves_figure, file_image, profiles_figure, training_figure
from pygenome.steps.report.page import text
from pygenome.steps.report.read import sha256

MIN_AGREEMENT_OVERLAP = 3  # nt an attribution motif and a head motif must share to be compared
MATCHES_SHOWN = 3  # matches listed per head, best first


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


def inputs(qcs: dict, models, evaluations, motifs, files: list[Path]) -> dict:
    """The genomes, the pygenome version of each step, each model's architecture, settings and split, and the files
    read with their size and SHA-256."""
    versions = {"report": __version__}
    versions.update({f"label ({genome_id})": qc.get("pygenome") for genome_id, qc in qcs.items()})
    versions.update({f"train ({model['folder'].name})": model["config"].get("pygenome") for model in models})
    versions.update({f"evaluate ({evaluation['folder'].name})": evaluation["figures"].get("pygenome")
                     for evaluation in evaluations})
    if motifs is not None and "summary" in motifs:
        versions["motifs"] = motifs["summary"].get("pygenome")
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
    return {"title": model_title(model), "selected": rows, "timing": model.get("timing"),
            "figure": None if history is None else training_figure(history, config.get("best_step")),
            "history": [] if history is None else records(history)}


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
    rows = [{"genome": name, **values} for name, values in figures.get("genomes", {}).items()]
    if "overall" in figures:
        rows.append({"genome": "overall", **figures["overall"]})
    return {"title": evaluation_title(evaluation), "figures": figures, "rows": rows,
            "baseline": _baseline(figures) if "baseline" in figures else None,
            "curves": curves_figure(evaluation) if "roc" in evaluation and "pr" in evaluation else None,
            "sites": records(evaluation["sites"]) if "sites" in evaluation else None}


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
