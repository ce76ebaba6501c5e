"""The pipeline as a list of tasks: each one ``pygenome`` command line, the files it reads and the files it writes.

The same command lines run under ``pygenome run`` (one machine) and in the Nextflow processes of ``modules/`` (one
process per task), into the same layout under the output folder::

    label/<genome>.*                          labels, sites, QC            (a task per labelled genome)
    train/<model>/                            model folder                 (a task per model trained)
    predict/<genome>/<genome>.<contig>.*      scores, sites, attention     (a task per contig)
    baseline/<genome>.scores.track.npz        the -10 box scan             (a task per genome; optional)
    evaluate/<model>/                         held-out figures and curves  (a task per model with labelled genomes)
    classify/<genome>.{predicted,known}.*     site classes by the genes    (per annotated genome: its predicted
                                                                            sites, against its labels, and its labels)
    motifs/survey.*                           head motifs of every genome  (one task)
    survey/survey.*                           the survey table and figures (one task)
    report.html                               the report                   (one task)

Which model predicts a genome (:func:`models`): the ``model`` parameter's (a model folder or a bundled model's name)
for every genome when given, and then nothing is trained; else, for the labelled genomes, by ``model_scope``: a
model per genome (``per_genome``), one joint model (``joint``), or for each genome one trained on all the others
(``leave_one_out``, named ``without_<genome>``: its evaluation tells how the model serves a genome without data). A
genome without labels (a samplesheet row with only its FASTA) is predicted by the joint model of the labelled genomes
(the only model, when there is one), its attention taken at its predicted sites.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pygenome.errors import InputError
from pygenome.io import layout
from pygenome.io.layout import file_keys
from pygenome.io.model_store import model_folder
from pygenome.io.package_data import DECOY
from pygenome.io.samplesheet import Sample

MODEL_SCOPES = ("per_genome", "joint", "leave_one_out")
JOINT = "joint"  # the model of every labelled genome (train/joint)
MOTIFS_PREFIX = "survey"  # the motifs step's prefix (the Nextflow MOTIFS task's meta.id too)
SURVEY_PREFIX = "survey"  # the survey step's (in survey/)
REPORT_PREFIX = "report"
PROGRESS_BARS = ("label", "train", "predict", "motifs")  # the steps with a --quiet option


@dataclass(frozen=True)
class Params:
    """Settings of a pipeline run (a ``pygenome run`` option each, or a key of its ``--config`` file)."""

    preset: str = "cpu"  # training preset (pygenome train --preset)
    training: dict = field(default_factory=dict)  # settings over the preset (pygenome train --set NAME=VALUE)
    model_scope: str = "per_genome"  # per_genome, joint or leave_one_out: which models are trained (see the module)
    model: str | None = None  # a model folder or a bundled model's name: predict every genome with it, train none
    databases: tuple = ()  # known motifs (MEME or TRANSFAC) for pygenome motifs
    decoy: str | None = str(DECOY)  # a motif set that should match nothing
    baseline: bool = True  # scan for the sigma70 -10 box, evaluated beside each model (for TSS labels)
    threads: int | None = None  # CPU threads per step
    title: str = "pygenome report"
    description: str = ""  # a paragraph under the report's title

    def __post_init__(self):
        if self.model_scope not in MODEL_SCOPES:
            raise InputError(f"model_scope must be one of {', '.join(MODEL_SCOPES)}, not {self.model_scope!r}")

    def as_dict(self) -> dict:
        return asdict(self)


def read_params(config=None, **overrides) -> Params:
    """Parameters from a YAML or JSON file (``config``), then ``overrides`` (those not None) on top."""
    values = {}
    if config is not None:
        import yaml

        try:
            values = yaml.safe_load(Path(config).read_text()) or {}  # YAML is a superset of JSON
        except (OSError, yaml.YAMLError) as error:
            raise InputError(f"{config}: cannot read the parameters ({error})") from error
        if not isinstance(values, dict):
            raise InputError(f"{config}: expected a mapping of parameter names to values")
    values |= {name: value for name, value in overrides.items() if value is not None}
    known = set(Params.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"unknown parameter(s) {', '.join(unknown)}{f' in {config}' if config else ''}; known: "
                         f"{', '.join(sorted(known))}")
    values["databases"] = tuple(str(Path(path).resolve()) for path in values.get("databases", ()))
    if values.get("model") is not None:
        values["model"] = str(model_folder(values["model"]).resolve())
    return Params(**values)


@dataclass(frozen=True)
class Task:
    """One pygenome command: ``key`` names it (``<step>/<unit>``), ``argv`` its arguments after ``pygenome``,
    ``inputs`` the files it reads and ``outputs`` those it writes (all present once it has run); ``checkpoints``: the
    folder whose checkpoints an interrupted run of it resumes from (a training's model folder), if any."""

    key: str
    argv: list
    inputs: list
    outputs: list
    checkpoints: str | None = None

    @property
    def progress_bar(self) -> bool:
        """Whether the step shows a progress bar (which ``--quiet`` turns off)."""
        return self.argv[0] in PROGRESS_BARS


def models(samples: list[Sample], params: Params) -> tuple[dict, dict]:
    """``(model of each genome id, the genomes each trained model is trained on)``: a model is a folder name under
    ``train/`` (trained in the run) or the path of the ``model`` parameter (see the module)."""
    labelled = [s for s in samples if s.labelled]
    if params.model:
        return {s.id: params.model for s in samples}, {}
    if not labelled:
        raise InputError("no genome of the samplesheet has anything to label from (bam or sites), so no model can be "
                         "trained; give a model to predict them with (--model: a model folder, or a bundled model's "
                         "name, e.g. ecoli-cpu)")
    if params.model_scope == "leave_one_out":
        if len(labelled) < 2:
            raise InputError("model_scope leave_one_out needs at least 2 labelled genomes (each model is trained on "
                             f"the others), not {len(labelled)}")
        trained = {f"without_{held}": [s for s in labelled if s.id != held] for held in (s.id for s in labelled)}
        chosen = {s.id: f"without_{s.id}" for s in labelled}
    elif params.model_scope == "joint":
        trained, chosen = {JOINT: labelled}, {s.id: JOINT for s in labelled}
    else:
        trained, chosen = {s.id: [s] for s in labelled}, {s.id: s.id for s in labelled}
    if len(chosen) < len(samples):  # genomes without labels: the joint model (the only model, when there is one)
        if len(trained) == 1 and params.model_scope != "leave_one_out":
            joint = next(iter(trained))
        else:
            joint = JOINT
            trained[JOINT] = labelled
        chosen |= {s.id: joint for s in samples if not s.labelled}
    return chosen, trained


def plan(samples: list[Sample], contigs: dict[str, list[str]], outdir, params: Params) -> list[Task]:
    """Every task of a run, in an order that runs each after the tasks it reads from. ``contigs``: the contig names
    of each genome (a predict task each)."""
    out = Path(outdir)
    threads = ["--threads", str(params.threads)] if params.threads else []
    labelled = [s for s in samples if s.labelled]
    tasks = [_label(sample, out) for sample in labelled]
    chosen, trained = models(samples, params)
    model_dirs = {model: out / "train" / model for model in trained}
    if params.model:
        model_dirs[params.model] = Path(params.model)
    for model, members in trained.items():
        genome_args = [arg for s in members for arg in ("--genome", s.id, s.fasta, _labels(out, s))]
        settings = [f"{name}={json.dumps(value)}" for name, value in sorted(params.training.items())]
        settings = ["--set", *settings] if settings else []
        tasks.append(Task(f"train/{model}", ["train", *genome_args, "--preset", params.preset, *settings,
                                             "--outdir", str(model_dirs[model]), *threads],
                          [p for s in members for p in (s.fasta, _labels(out, s))],
                          _outputs("train", model_dirs[model]), checkpoints=str(model_dirs[model])))
    attention = {}
    prefixes = {s.id: [f"{s.id}.{key}" for key in file_keys(contigs[s.id])] for s in samples}
    for sample in samples:
        model_dir = model_dirs[chosen[sample.id]]
        queries = [_labels(out, sample)] if sample.labelled else []
        for contig, prefix in zip(contigs[sample.id], prefixes[sample.id]):
            folder = out / "predict" / sample.id
            attention.setdefault(sample.id, []).append(str(layout.output("predict", "attention").path(folder, prefix)))
            tasks.append(Task(
                f"predict/{sample.id}/{contig}",
                ["predict", "--model", str(model_dir), "--fasta", sample.fasta, "--topology", sample.topology,
                 f"--contig={contig}", "--outdir", str(folder), "--prefix", prefix, "--attention-sites",
                 *(queries or ["predicted"]), *threads],
                [sample.fasta, *queries, *_outputs("train", model_dir, names=("weights", "config"))],
                [*_outputs("predict", folder, prefix), attention[sample.id][-1]]))
    baselines = {}
    if params.baseline:
        for sample in labelled:
            baselines[sample.id] = str(layout.output("baseline", "scores").path(out / "baseline", sample.id))
            tasks.append(Task(f"baseline/{sample.id}",
                              ["baseline", "--fasta", sample.fasta, "--topology", sample.topology, "--outdir",
                               str(out / "baseline"), "--prefix", sample.id],
                              [sample.fasta], _outputs("baseline", out / "baseline", sample.id)))
    evaluations = []
    for model, model_dir in model_dirs.items():
        members = [s for s in labelled if chosen[s.id] == model]
        if not members:
            continue
        predictions = [str(layout.output("predict", "scores").path(out / "predict" / s.id, prefix))
                       for s in members for prefix in prefixes[s.id]]
        labels = [_labels(out, s) for s in members]
        scans = [baselines[s.id] for s in members if s.id in baselines]
        folder = out / "evaluate" / model_dir.name
        evaluations.append(str(folder))
        tasks.append(Task(f"evaluate/{model_dir.name}",
                          ["evaluate", "--model", str(model_dir), "--predictions", *predictions,
                           "--labels", *labels, *(["--baseline", *scans] if scans else []), "--held-out", "auto",
                           "--outdir", str(folder)],
                          [*predictions, *labels, *scans, *_outputs("train", model_dir, names=("config",))],
                          _outputs("evaluate", folder)))
    classes = []
    for sample in (s for s in samples if s.annotation):
        genome = ["--fasta", sample.fasta, "--topology", sample.topology, "--annotation", sample.annotation]
        predicted = [str(layout.output("predict", "sites").path(out / "predict" / sample.id, prefix))
                     for prefix in prefixes[sample.id]]
        known = [_labels(out, sample)] if sample.labelled else []
        for kind, sites, against in [("predicted", predicted, known)] + ([("known", known, [])] if known else []):
            prefix = f"{sample.id}.{kind}"
            classes.append(str(layout.output("classify", "summary").path(out / "classify", prefix)))
            tasks.append(Task(f"classify/{sample.id}/{kind}",
                              ["classify", *genome, "--sites", *sites, *(["--known", *against] if against else []),
                               "--outdir", str(out / "classify"), "--prefix", prefix],
                              [sample.fasta, sample.annotation, *sites, *against],
                              _outputs("classify", out / "classify", prefix)))
    motif_args = [arg for s in samples for arg in ("--genome", s.id, s.fasta, *attention[s.id])]
    databases = ["--database", *params.databases] if params.databases else []
    decoy = ["--decoy", params.decoy] if params.decoy else []
    motifs = out / "motifs"
    tasks.append(Task("motifs", ["motifs", *motif_args, *databases, *decoy, "--outdir", str(motifs), "--prefix",
                                 MOTIFS_PREFIX],
                      [*(s.fasta for s in samples), *(a for s in samples for a in attention[s.id]),
                       *params.databases, *([params.decoy] if params.decoy else [])],
                      _outputs("motifs", motifs, MOTIFS_PREFIX)))
    survey_args = [arg for s in samples for arg in (
        "--genome", s.id, s.fasta, *(str(layout.output("predict", "sites").path(out / "predict" / s.id, prefix))
                                     for prefix in prefixes[s.id]))]
    tasks.append(Task("survey", ["survey", *survey_args, "--motifs", str(motifs), "--motifs-prefix", MOTIFS_PREFIX,
                                 "--outdir", str(out / "survey"), "--prefix", SURVEY_PREFIX],
                      [*(s.fasta for s in samples), *(a for a in survey_args if a.endswith(".predicted.bed")),
                       *_outputs("motifs", motifs, MOTIFS_PREFIX, names=("heads", "meme", "recurrence", "summary"))],
                      _outputs("survey", out / "survey", SURVEY_PREFIX, names=("table", "motifs", "summary"))))
    qcs = [str(layout.output("label", "qc").path(out / "label", s.id)) for s in labelled]
    description = ["--description", params.description] if params.description else []
    page = layout.output("report", "report").path(out, REPORT_PREFIX)
    folders = [str(folder) for folder in model_dirs.values()]
    tasks.append(Task("report", ["report", "--outdir", str(out), "--prefix", REPORT_PREFIX, "--title", params.title,
                                 *description, *(["--label-qc", *qcs] if qcs else []), "--model", *folders,
                                 *(["--evaluation", *evaluations] if evaluations else []),
                                 "--motifs", str(motifs), "--motifs-prefix", MOTIFS_PREFIX,
                                 "--survey", str(out / "survey"), "--survey-prefix", SURVEY_PREFIX,
                                 *(["--classes", *classes] if classes else [])],
                      [*qcs, *classes, *(path for m in folders for path in _outputs("train", m, names=("config",))),
                       *(path for e in evaluations for path in _outputs("evaluate", e, names=("evaluation",))),
                       str(layout.output("motifs", "heads").path(motifs, MOTIFS_PREFIX)),
                       *_outputs("survey", out / "survey", SURVEY_PREFIX, names=("table", "summary"))],
                      [str(page)]))
    return tasks


def _outputs(step: str, folder, prefix: str = "", names=None) -> list[str]:
    """The paths in ``folder`` of the outputs ``names`` of ``step``, by default of every file each of its runs writes
    (see :mod:`pygenome.io.layout`)."""
    entries = [layout.output(step, name) for name in names] if names else [
        entry for entry in layout.STEPS[step] if entry.required and "*" not in entry.pattern]
    return [str(entry.path(folder, prefix)) for entry in entries]


def _labels(out: Path, sample: Sample) -> str:
    return str(layout.output("label", "labels").path(out / "label", sample.id))


def _label(sample: Sample, out: Path) -> Task:
    folder = out / "label"
    argv = ["label", "--fasta", sample.fasta, "--topology", sample.topology, "--outdir", str(folder), "--prefix",
            sample.id]
    inputs = [sample.fasta]
    for option, value in (("--bam", sample.bam), ("--control-bam", sample.control_bam), ("--sites", sample.sites)):
        if value:
            argv += [option, value]
            inputs.append(value)
    return Task(f"label/{sample.id}", argv, inputs, _outputs("label", folder, sample.id))
