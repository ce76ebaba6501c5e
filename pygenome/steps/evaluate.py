"""The evaluate step: predictions and labels on the regions a model never saw → figures, curves and a JSON.

Position level: ROC AUC and PR AUC (average precision) over every position of the held-out set (``test`` by default,
or ``validation``; ``all`` for a genome the model was not trained on) on both strands, per genome and over all genomes
together. The held-out regions are those saved with the model; a genome is recognised by its checksum.

Site level: at each threshold, predicted sites are the local maxima of the scores at least that high and ``distance``
nt apart (as ``pygenome predict`` calls peaks) inside the set; precision is the fraction of them with a labelled site
within ``tolerance`` nt on the same strand, recall the fraction of labelled sites with a predicted one that close.

Outputs in ``outdir``: ``evaluation.json`` (every figure), ``roc.tsv`` and ``pr.tsv`` (curves, at most 2,001 points
each, per genome and overall, with a ``scorer`` column), ``sites.tsv`` (site-level figures per threshold) and
``curves.png``.

Baseline: other score tracks (``baseline``, e.g. ``pygenome baseline``'s -10 box scan) are evaluated on exactly the
positions the model's predictions are, and their position-level figures land beside the model's: ``evaluation.json``
gains ``"baseline": {"tracks", "overall", "genomes"}``, ``roc.tsv`` and ``pr.tsv`` rows with scorer "baseline", and
``curves.png`` dashed lines. Their scores need not be probabilities, so they get no site-level figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.interpret.figures import plot_curves
from pygenome.io.layout import EVALUATE as EVALUATE_OUTPUTS
from pygenome.io.model_store import read_record
from pygenome.io.outputs import atomic_outputs, write_json
from pygenome.io.sites import fraction_near, local_maxima
from pygenome.io.tracks import STRANDS, load_track
from pygenome.model.calibration import f1
from pygenome.model.metrics import average_precision, precision_recall_curve, roc_auc, roc_curve
from pygenome.model.splits import SETS, set_mask

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.1, 1.0, 0.1))
HELD_OUT = ("validation", "test", "all", "auto")
SITE_FIGURES = ("predicted_sites", "labelled_sites", "precision", "recall", "f1")
CURVE_POINTS = 2001


def evaluate(model_dir, predictions, labels, outdir, which: str = "test", tolerance: int = 10, distance: int = 10,
             thresholds=THRESHOLDS, baseline=()) -> dict:
    """Evaluate score tracks (``predictions``: paths, several per genome allowed, e.g. one per contig) against label
    tracks (``labels``: one per genome) on the ``which`` set, and the ``baseline`` score tracks (paths, covering the
    predictions' contigs) on the same positions; returns the figures (also written)."""
    if which not in HELD_OUT:
        raise InputError(f"the set to evaluate must be one of {', '.join(HELD_OUT)}, not {which!r}")
    record = read_record(model_dir)
    calibrated = (record.get("site_calling") or {}).get("min_score")
    thresholds = tuple(sorted({*thresholds, *([calibrated] if calibrated is not None else [])}))
    by_checksum = {entry["genome_checksum"]: entry["id"] for entry in record["data"]}
    scores = _merge([load_track(path) for path in predictions], "scores", predictions)
    truth = _merge([load_track(path) for path in labels], "labels", labels)
    baseline_tracks = [load_track(path) for path in baseline]
    producers = [{"file": Path(path).name, "producer": track.producer}
                 for path, track in zip(baseline, baseline_tracks)]
    baseline_scores = _merge(baseline_tracks, "scores", baseline)
    for checksum, track in baseline_scores.items():
        if checksum not in scores:
            raise InputError(f"baseline track of {track.genome['path']}: no predictions for this genome among "
                             f"{list(map(str, predictions))}; give a baseline only for genomes you evaluate")
    genomes, sets = {}, {}
    for checksum, score_track in scores.items():
        if checksum not in truth:
            raise InputError(f"no label track for the genome of {score_track.genome['path']} among {list(labels)}")
        genome_id = by_checksum.get(checksum)
        if genome_id is None and which not in ("all", "auto"):
            raise InputError(f"{score_track.genome['path']}: the model was not trained on this genome, so it has no "
                             "held-out regions; evaluate it with --held-out all (or auto)")
        genome_set = ("test" if genome_id is not None else "all") if which == "auto" else which
        baseline_track = baseline_scores.get(checksum)
        if baseline and baseline_track is None:
            raise InputError(f"{score_track.genome['path']}: no baseline track for this genome among "
                             f"{list(map(str, baseline))}; give one for every genome evaluated")
        name = genome_id or score_track.genome["path"]
        genomes[name] = _collect(score_track, truth[checksum], genome_id, record["split"], genome_set, distance,
                                 thresholds, baseline_track)
        sets[name] = genome_set
    keys = ("labels", "scores", "baseline") if baseline else ("labels", "scores")
    overall = {key: np.concatenate([g[key] for g in genomes.values()]) for key in keys}
    figures = {"pygenome": __version__, "model": Path(model_dir).name, "set": which, "tolerance": tolerance,
               "distance": distance, "genomes": {}, "overall": _position_figures(overall)}
    if baseline:
        figures["baseline"] = {
            "tracks": producers,
            "overall": _position_figures(overall, "baseline"),
            "genomes": {name: _position_figures(collected, "baseline") for name, collected in genomes.items()}}
    site_rows = []
    for name, collected in genomes.items():
        figures["genomes"][name] = {"set": sets[name], **_position_figures(collected)}
        for threshold in thresholds:
            called, known = collected["called"][threshold], collected["known"]
            precision, recall = fraction_near(called, known, tolerance), fraction_near(known, called, tolerance)
            site_rows.append({"genome": name, "threshold": threshold, "calibrated": int(threshold == calibrated),
                              "predicted_sites": len(called), "labelled_sites": len(known), "precision": precision,
                              "recall": recall, "f1": f1(precision, recall)})
    site_table = pd.DataFrame(site_rows)
    figures["sites"] = site_table.to_dict(orient="records")
    if calibrated is not None:
        at = site_table[site_table["calibrated"] == 1].set_index("genome")
        figures["site_calling"] = {"min_score": calibrated, "validation": record["site_calling"]["validation"],
                                   "genomes": {name: {key: at.loc[name, key] for key in SITE_FIGURES}
                                               for name in genomes}}
    _write(Path(outdir), figures, genomes, overall, site_table)
    return figures


def _merge(tracks, kind: str, paths) -> dict:
    """Tracks of one kind grouped by genome checksum, their contigs merged (each contig once)."""
    merged = {}
    for track, path in zip(tracks, paths):
        if track.kind != kind:
            raise InputError(f"{path}: a {track.kind!r} track where a {kind!r} track was expected")
        checksum = track.genome["checksum"]
        if checksum not in merged:
            merged[checksum] = track
            continue
        overlap = set(merged[checksum].arrays) & set(track.arrays)
        if overlap:
            raise InputError(f"{path}: contig(s) {', '.join(sorted(overlap))} given twice for one genome")
        merged[checksum].arrays.update(track.arrays)
    return merged


def _collect(score_track, label_track, genome_id, regions, which, distance, thresholds, baseline_track=None) -> dict:
    """Labels and scores (and ``baseline_track``'s scores) of the set's positions (both strands), and the labelled and
    called sites in it."""
    labels, scores, baseline, known, called = [], [], [], [], {t: [] for t in thresholds}
    for name, score_array in score_track.arrays.items():
        if name not in label_track.arrays:
            raise InputError(f"contig {name} has scores but no labels; label every contig you evaluate")
        if baseline_track is not None and name not in baseline_track.arrays:
            raise InputError(f"contig {name} has scores but no baseline scores; give baseline tracks of every "
                             "contig you evaluate")
        length = score_array.shape[1]
        inside = np.ones(length, bool) if which == "all" else \
            set_mask(regions, genome_id, name, length) == SETS.index(which)
        circular = score_track.contig_info(name)["circular"]
        for row, strand in enumerate(STRANDS):
            labels.append(label_track.arrays[name][row][inside])
            scores.append(score_array[row][inside])
            if baseline_track is not None:
                baseline.append(baseline_track.arrays[name][row][inside])
            site_positions = np.flatnonzero((label_track.arrays[name][row] > 0) & inside)
            known.append(pd.DataFrame({"contig": name, "strand": strand, "position": site_positions}))
            peaks = local_maxima(score_array[row], min(thresholds), distance, circular)
            peaks = peaks[inside[peaks]]
            for threshold in thresholds:
                chosen = peaks[score_array[row][peaks] >= threshold]
                called[threshold].append(pd.DataFrame({"contig": name, "strand": strand, "position": chosen}))
    collected = {"labels": np.concatenate(labels).astype(bool), "scores": np.concatenate(scores).astype(np.float64),
                 "known": pd.concat(known, ignore_index=True),
                 "called": {t: pd.concat(frames, ignore_index=True) for t, frames in called.items()}}
    if baseline_track is not None:
        collected["baseline"] = np.concatenate(baseline).astype(np.float64)
    return collected


def _position_figures(collected, scorer: str = "scores") -> dict:
    """ROC and PR AUC of the ``scorer`` scores ("scores": the model's, or "baseline"), and the counts."""
    return {"roc_auc": roc_auc(collected["labels"], collected[scorer]),
            "pr_auc": average_precision(collected["labels"], collected[scorer]),
            "positions": int(collected["labels"].size), "positives": int(collected["labels"].sum()),
            "prevalence": float(collected["labels"].mean()) if collected["labels"].size else float("nan")}


def _thin(*columns):
    """At most :data:`CURVE_POINTS` evenly spaced points of a curve, its ends kept."""
    size = columns[0].size
    if size <= CURVE_POINTS:
        return columns
    keep = np.unique(np.linspace(0, size - 1, CURVE_POINTS).round().astype(int))
    return tuple(column[keep] for column in columns)


def _curves(genomes, overall):
    """ROC and PR curves of each genome and overall, the model's (scorer "model") then the baseline's, if any."""
    roc_rows, pr_rows = [], []
    for scorer, key in (("model", "scores"), ("baseline", "baseline")):
        for name, collected in [*genomes.items(), ("overall", overall)]:
            if key not in collected or not collected["labels"].any() or collected["labels"].all():
                continue
            fpr, tpr, roc_thresholds = _thin(*roc_curve(collected["labels"], collected[key]))
            roc_rows.append(pd.DataFrame({"genome": name, "scorer": scorer, "false_positive_rate": fpr,
                                          "true_positive_rate": tpr, "threshold": roc_thresholds}))
            precision, recall, pr_thresholds = _thin(*precision_recall_curve(collected["labels"], collected[key]))
            pr_rows.append(pd.DataFrame({"genome": name, "scorer": scorer, "recall": recall, "precision": precision,
                                         "threshold": pr_thresholds}))
    return (pd.concat(roc_rows, ignore_index=True) if roc_rows else pd.DataFrame(),
            pd.concat(pr_rows, ignore_index=True) if pr_rows else pd.DataFrame())


def _write(outdir: Path, figures, genomes, overall, site_table) -> None:
    roc, pr = _curves(genomes, overall)
    names = [output.pattern for output in EVALUATE_OUTPUTS]
    with atomic_outputs(*(outdir / name for name in names)) as (json_path, roc_path, pr_path, sites_path, png):
        write_json(json_path, figures, indent=2)
        roc.to_csv(roc_path, sep="\t", index=False, float_format="%.6g")
        pr.to_csv(pr_path, sep="\t", index=False, float_format="%.6g")
        site_table.to_csv(sites_path, sep="\t", index=False, float_format="%.6g")
        plot_curves(roc, pr, figures, png)
