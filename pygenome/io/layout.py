"""What each pipeline step writes, declared once.

The steps name their files from these declarations, ``pygenome run`` plans its tasks from them, and the Nextflow
modules' ``output:`` blocks are checked against them (``tests/test_nextflow.py``): an output's ``name`` is the
module's ``emit:`` name, its ``pattern`` the file name with ``{prefix}`` where the module writes ``${prefix}``.

A step writes either files named ``<prefix>.<suffix>`` (label, predict, baseline, classify, motifs, survey) or a
folder of fixed names (train, evaluate: the folder is the module's one output); report writes one page. The steps run
on their own, not by the pipeline (attribute, gia, filters), write ``<prefix>.<suffix>`` files too; the attribute
step's ``*`` is each attribution method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Output:
    """One output of a step: ``name`` (the Nextflow ``emit:``), ``pattern`` (a file name; ``{prefix}`` is the
    step's prefix, ``*`` stands for several files), and whether every run writes it."""

    name: str
    pattern: str
    required: bool = True

    def path(self, folder, prefix: str = "") -> Path:
        """This output's path in ``folder`` for ``prefix`` (a pattern without ``*``)."""
        return Path(folder) / self.pattern.format(prefix=prefix)


# Steps that write <prefix>.<suffix> files
LABEL = (Output("labels", "{prefix}.labels.track.npz"), Output("sites", "{prefix}.sites.bed"),
         Output("qc", "{prefix}.qc.json"), Output("signal", "{prefix}.signal.track.npz", required=False),
         Output("bins", "{prefix}.bins.bed", required=False))
PREDICT = (Output("scores", "{prefix}.scores.track.npz"), Output("sites", "{prefix}.predicted.bed"),
           Output("attention", "{prefix}.attention.npz", required=False),
           Output("bigwig", "{prefix}.scores.*.bw"), Output("bedgraph", "{prefix}.scores.*.bedgraph", required=False))
BASELINE = (Output("scores", "{prefix}.scores.track.npz"),)
MOTIFS = (Output("heads", "{prefix}.heads.tsv"), Output("profiles", "{prefix}.profiles.tsv"),
          Output("peaks", "{prefix}.peaks.tsv"), Output("meme", "{prefix}.motifs.meme"),
          Output("matches", "{prefix}.matches.tsv"), Output("recurrence", "{prefix}.recurrence.tsv", required=False),
          Output("summary", "{prefix}.motifs.json"), Output("figures", "{prefix}.figures"))
# Steps that write a folder of fixed names
TRAIN = (Output("weights", "model.safetensors"), Output("config", "config.json"), Output("metrics", "metrics.json"),
         Output("history", "metrics.tsv"), Output("timing", "timing.json"))
EVALUATE = (Output("evaluation", "evaluation.json"), Output("roc", "roc.tsv"), Output("pr", "pr.tsv"),
            Output("sites", "sites.tsv"), Output("curves", "curves.png"))
REPORT = (Output("report", "{prefix}.html"),)  # prefix "report" in a pipeline run

# Steps run on their own
ATTRIBUTE = (Output("one_hot", "{prefix}.one_hot.npz"), Output("attributions", "{prefix}.*.npz"),
             Output("sites", "{prefix}.sites.tsv"), Output("motifs", "{prefix}.motifs.tsv"),
             Output("meme", "{prefix}.motifs.meme"), Output("summary", "{prefix}.attribution.json"),
             Output("figures", "{prefix}.figures"), Output("tracks", "{prefix}.*.track.npz"),
             Output("bigwig", "{prefix}.*.*.bw"))
GIA = (Output("effects", "{prefix}.gia.tsv"), Output("summary", "{prefix}.gia.json"),
       Output("figure", "{prefix}.gia.png"))
FILTERS = (Output("meme", "{prefix}.filters.meme"), Output("filters", "{prefix}.filters.tsv"),
           Output("summary", "{prefix}.filters.json"), Output("figures", "{prefix}.filters.figures"))
CLASSIFY = (Output("table", "{prefix}.sites.tsv"), Output("bed", "{prefix}.sites.bed"),
            Output("summary", "{prefix}.classes.json"))
SURVEY = (Output("table", "{prefix}.tsv"), Output("motifs", "{prefix}.motifs.tsv"),
          Output("summary", "{prefix}.json"), Output("figures", "{prefix}.figures"))

STEPS = {"label": LABEL, "train": TRAIN, "predict": PREDICT, "baseline": BASELINE, "evaluate": EVALUATE,
         "classify": CLASSIFY, "motifs": MOTIFS, "survey": SURVEY, "report": REPORT}  # the pipeline's
STANDALONE = {"attribute": ATTRIBUTE, "gia": GIA, "filters": FILTERS}
FOLDER_STEPS = ("train", "evaluate")  # their Nextflow module emits the folder, named by the prefix

# The Nextflow processes' names and the step each runs
PROCESSES = {step.upper(): step for step in STEPS}


def output(step: str, name: str) -> Output:
    """The output ``name`` of ``step``."""
    return next(entry for entry in {**STEPS, **STANDALONE}[step] if entry.name == name)


def suffixes(step: str, required_only: bool = False) -> list[str]:
    """The ``<suffix>`` of each ``<prefix>.<suffix>`` output of a file step (``*`` patterns left out)."""
    return [entry.pattern.removeprefix("{prefix}.") for entry in {**STEPS, **STANDALONE}[step]
            if "*" not in entry.pattern and (entry.required or not required_only)]


def safe_name(name: str) -> str:
    """A name as a file-name part: characters other than letters, digits, ``_.-`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def file_keys(names: list[str]) -> list[str]:
    """Each name's file-name part, in order: its :func:`safe_name`, and ``_2``, ``_3``… after one already taken
    (``ctg|1`` after ``ctg_1`` is ``ctg_1_2``), so no two share a file name. Contigs' keys (``<genome>.<key>.*`` of
    the predict step) are written into the label step's QC JSON; the Nextflow pipeline computes the same keys from
    the FASTA's headers in Groovy (``contigsOf`` and ``fileKeys``, its twin, in
    workflows/pygenome.nf); the motifs step names its databases so."""
    keys, taken = [], set()
    for name in names:
        key, number = safe_name(name), 1
        while key.lower() in taken:  # also apart on case-insensitive file systems
            number += 1
            key = f"{safe_name(name)}_{number}"
        taken.add(key.lower())
        keys.append(key)
    return keys
