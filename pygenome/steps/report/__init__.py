"""The report step: the outputs of the other steps → one self-contained HTML page, readable offline.

Sections, each shown when its input is given:

0. first, the survey (a survey folder: ``<prefix>.tsv``, ``<prefix>.motifs.tsv``, ``<prefix>.json`` and
   ``<prefix>.figures/``): the survey in a sentence (genomes, those without labels and the model that predicted
   them, the head-motif groups found in most genomes and how their AT fraction goes with genome GC), a row per
   genome (its figures, whether it has labels, the model and site-calling threshold of its predicted sites, its motif
   of each group), each group's trend, and the figures (the logos of each group by genome GC, AT fraction against GC);
1. inputs: every genome (id, FASTA, checksum, contigs) from the models' ``config.json`` and/or label ``qc.json``
   files, merged by checksum; the files read with their SHA-256, the pygenome version of each step, and each model's
   architecture, training settings and split;
2. label QC per genome (``<prefix>.qc.json``: reads, sites, warnings);
3. per model folder (several for a survey with one model per genome): training curves and the figures of the
   selected weights (its ``metrics.tsv``, ``config.json``, ``timing.json``), and its calibrated site calling (the
   threshold and its validation precision, recall and F1 beside those at 0.5);
4. per evaluate folder: ROC and PR curves, AUCs and site-level figures, and where the evaluation has a baseline
   (``pygenome evaluate --baseline``) its ROC and PR AUC beside the model's and its curves dashed in the figure; the
   set of each genome (held-out test regions, or every position of a genome the model never saw) and, for a
   calibrated model, each genome's sites at the calibrated threshold;
5. attention heads (a motifs folder: ``<prefix>.heads.tsv`` and whatever else the motifs step wrote beside it);
6. attributions (an attribute folder: its summary, its motifs with logos and matches, and which of them agree with
   head motifs).

Each model and evaluation has its own subsection, titled by its folder's name and its genomes.

Images are PNG or SVG data: URIs and the CSS (``templates/report.css.j2``) is inline; the page's one script
(``check.js``) is inline and only records, on ``<body>``, how many images loaded, whether the page fits its width and
how many of the tables that must fit their section (class ``fit``: the survey's) do not (for headless checks).
Nothing is fetched. The same inputs give the same bytes: the page holds no time but those in its inputs, and figures
are PNGs without matplotlib's version in them.

The package: :mod:`.read` reads the inputs through :mod:`pygenome.io`, :mod:`.sections` says what each section
shows, :mod:`.figures` draws the report's own figures and :mod:`.page` renders the Jinja templates of
``templates/`` (one per section).
"""


from __future__ import annotations

from collections import Counter
from pathlib import Path

from pygenome.errors import InputError
from pygenome.io.outputs import atomic_outputs
from pygenome.steps.report import read, sections
from pygenome.steps.report.page import render


def report(out, *, title: str = "pygenome report", description: str = "", label_qc=(), model_dirs=(),
           evaluation_dirs=(), motifs_dir=None, motifs_prefix=None, attribution_dir=None,
           attribution_prefix=None, survey_dir=None, survey_prefix=None, classes=()) -> Path:
    """Write the report of the given outputs to ``out`` (HTML, UTF-8, whole or not at all); returns its path.

    ``description``: a paragraph (plain text) shown under the title, e.g. where the data came from.

    ``label_qc``: ``<prefix>.qc.json`` files of the label step (the prefix is shown as the genome id);
    ``model_dirs``: model folders of the train step (e.g. one per genome); ``evaluation_dirs``: output folders of the
    evaluate step; ``motifs_dir`` and ``motifs_prefix``: an output folder of the motifs step and the prefix of its
    files; ``attribution_dir`` and ``attribution_prefix``: the same of the attribute step; ``survey_dir`` and
    ``survey_prefix``: the same of the survey step (its section comes first); ``classes``: ``<prefix>.classes.json``
    files of the classify step (the prefix names each set of sites).
    """
    if not (label_qc or model_dirs or evaluation_dirs or motifs_dir or attribution_dir or survey_dir or classes):
        raise InputError("nothing to report: give label QC files (--label-qc), model folders (--model), "
                         "evaluation folders (--evaluation), a motifs folder (--motifs), an attribution folder "
                         "(--attribution), a survey folder (--survey) and/or site classes (--classes)")
    if (motifs_dir is None) != (motifs_prefix is None):
        raise InputError("a motifs folder (--motifs) and the prefix of its files (--motifs-prefix) go together")
    if (attribution_dir is None) != (attribution_prefix is None):
        raise InputError("an attribution folder (--attribution) and the prefix of its files (--attribution-prefix) "
                         "go together")
    if (survey_dir is None) != (survey_prefix is None):
        raise InputError("a survey folder (--survey) and the prefix of its files (--survey-prefix) go together")
    for kind, folders in (("model", model_dirs), ("evaluation", evaluation_dirs)):
        twice = [str(folder) for folder, count in Counter(Path(f).resolve() for f in folders).items() if count > 1]
        if twice:
            raise InputError(f"{kind} folder(s) given twice: {', '.join(twice)}; give each once")
    qc_paths = [Path(path) for path in label_qc]
    qcs = {read.qc_id(path): read.read_qc(path) for path in qc_paths}
    if len(qcs) < len(qc_paths):
        raise InputError(f"label QC files with the same prefix: {', '.join(map(str, qc_paths))}; give one per genome")
    class_paths = [Path(path) for path in classes]
    site_classes = {read.classes_id(path): read.read_classes(path) for path in class_paths}
    if len(site_classes) < len(class_paths):
        raise InputError(f"classify summaries with the same prefix: {', '.join(map(str, class_paths))}; give one per "
                         "set of sites")
    models = [read.read_model(Path(folder)) for folder in model_dirs]
    evaluations = [read.read_evaluation(Path(folder)) for folder in evaluation_dirs]
    motifs = read.read_motifs_outputs(Path(motifs_dir), motifs_prefix) if motifs_dir is not None else None
    attribution = read.read_attribution(Path(attribution_dir), attribution_prefix) if attribution_dir else None
    survey = read.read_survey(Path(survey_dir), survey_prefix) if survey_dir is not None else None
    files = read.files_read(qc_paths, models, evaluations, motifs, attribution, survey, class_paths)
    shown = [] if survey is None else [sections.survey(survey, qcs, models, evaluations)]
    shown.append(sections.inputs(qcs, models, evaluations, motifs, files, survey))
    if qcs:
        shown.append(sections.label_qc(qcs))
    if site_classes:
        shown.append(sections.site_classes(site_classes))
    if models:
        shown.append(sections.training(models))
    if evaluations:
        shown.append(sections.evaluation(evaluations))
    if motifs is not None:
        shown.append(sections.heads(motifs))
    if attribution is not None:
        shown.append(sections.attribution(attribution, motifs))
    out = Path(out)
    with atomic_outputs(out) as (temp,):
        temp.write_text(render(title, description, shown), encoding="utf-8")
    return out
