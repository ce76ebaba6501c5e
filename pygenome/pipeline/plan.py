"""The pipeline as a list of tasks: each one ``pygenome`` command line, the files it reads and the files it writes.

The same command lines run under ``pygenome run`` (one machine) and in the Nextflow processes of ``modules/`` (one
process per task), into the same layout under the output folder::

    label/<genome>.*                          labels, sites, QC            (a task per genome)
    train/<model>/                            model folder                 (a task per model: per genome, or joint)
    predict/<genome>/<genome>.<contig>.*      scores, sites, attention     (a task per contig)
    baseline/<genome>.scores.track.npz        the -10 box scan             (a task per genome; optional)
    evaluate/<model>/                         held-out figures and curves  (a task per model)
    motifs/survey.*                           head motifs of every genome  (one task)
    report.html                               the report                   (one task)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pygenome.errors import InputError
from pygenome.io import layout
from pygenome.io.layout import file_keys
from pygenome.io.package_data import DECOY
from pygenome.io.samplesheet import Sample

MODEL_SCOPES = ("per_genome", "joint")
MOTIFS_PREFIX = "survey"  # the motifs step's prefix (the Nextflow MOTIFS task's meta.id too)
REPORT_PREFIX = "report"
PROGRESS_BARS = ("label", "train", "predict", "motifs")  # the steps with a --quiet option


@dataclass(frozen=True)
class Params:
    """Settings of a pipeline run (a ``pygenome run`` option each, or a key of its ``--config`` file)."""

    preset: str = "cpu"  # training preset (pygenome train --preset)
    training: dict = field(default_factory=dict)  # settings over the preset (pygenome train --set NAME=VALUE)
    model_scope: str = "per_genome"  # one model per genome, or one joint model trained on every genome
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


def plan(samples: list[Sample], contigs: dict[str, list[str]], outdir, params: Params) -> list[Task]:
    """Every task of a run, in an order that runs each after the tasks it reads from. ``contigs``: the contig names
    of each genome (a predict task each)."""
    out = Path(outdir)
    threads = ["--threads", str(params.threads)] if params.threads else []
    tasks = [_label(sample, out) for sample in samples]
    models = {sample.id: sample.id if params.model_scope == "per_genome" else "joint" for sample in samples}
    for model in dict.fromkeys(models.values()):
        members = [s for s in samples if models[s.id] == model]
        genome_args = [arg for s in members for arg in ("--genome", s.id, s.fasta, _labels(out, s))]
        settings = [f"{name}={json.dumps(value)}" for name, value in sorted(params.training.items())]
        settings = ["--set", *settings] if settings else []
        model_dir = out / "train" / model
        tasks.append(Task(f"train/{model}", ["train", *genome_args, "--preset", params.preset, *settings,
                                             "--outdir", str(model_dir), *threads],
                          [p for s in members for p in (s.fasta, _labels(out, s))],
                          _outputs("train", model_dir), checkpoints=str(model_dir)))
    attention = {}
    prefixes = {s.id: [f"{s.id}.{key}" for key in file_keys(contigs[s.id])] for s in samples}
    for sample in samples:
        model_dir = out / "train" / models[sample.id]
        for contig, prefix in zip(contigs[sample.id], prefixes[sample.id]):
            folder = out / "predict" / sample.id
            attention.setdefault(sample.id, []).append(str(layout.output("predict", "attention").path(folder, prefix)))
            tasks.append(Task(
                f"predict/{sample.id}/{contig}",
                ["predict", "--model", str(model_dir), "--fasta", sample.fasta, "--topology", sample.topology,
                 f"--contig={contig}", "--outdir", str(folder), "--prefix", prefix, "--attention-sites",
                 _labels(out, sample), *threads],
                [sample.fasta, _labels(out, sample), *_outputs("train", model_dir, names=("weights", "config"))],
                [*_outputs("predict", folder, prefix), attention[sample.id][-1]]))
    baselines = {}
    if params.baseline:
        for sample in samples:
            baselines[sample.id] = str(layout.output("baseline", "scores").path(out / "baseline", sample.id))
            tasks.append(Task(f"baseline/{sample.id}",
                              ["baseline", "--fasta", sample.fasta, "--topology", sample.topology, "--outdir",
                               str(out / "baseline"), "--prefix", sample.id],
                              [sample.fasta], _outputs("baseline", out / "baseline", sample.id)))
    for model in dict.fromkeys(models.values()):
        members = [s for s in samples if models[s.id] == model]
        predictions = [str(layout.output("predict", "scores").path(out / "predict" / s.id, prefix))
                       for s in members for prefix in prefixes[s.id]]
        labels = [_labels(out, s) for s in members]
        scans = [baselines[s.id] for s in members if s.id in baselines]
        folder = out / "evaluate" / model
        tasks.append(Task(f"evaluate/{model}",
                          ["evaluate", "--model", str(out / "train" / model), "--predictions", *predictions,
                           "--labels", *labels, *(["--baseline", *scans] if scans else []), "--outdir", str(folder)],
                          [*predictions, *labels, *scans, *_outputs("train", out / "train" / model, names=("config",))],
                          _outputs("evaluate", folder)))
    motif_args = [arg for s in samples for arg in ("--genome", s.id, s.fasta, *attention[s.id])]
    databases = ["--database", *params.databases] if params.databases else []
    decoy = ["--decoy", params.decoy] if params.decoy else []
    motifs = out / "motifs"
    tasks.append(Task("motifs", ["motifs", *motif_args, *databases, *decoy, "--outdir", str(motifs), "--prefix",
                                 MOTIFS_PREFIX],
                      [*(s.fasta for s in samples), *(a for s in samples for a in attention[s.id]),
                       *params.databases, *([params.decoy] if params.decoy else [])],
                      _outputs("motifs", motifs, MOTIFS_PREFIX)))
    model_dirs = [str(out / "train" / m) for m in dict.fromkeys(models.values())]
    evaluations = [str(out / "evaluate" / m) for m in dict.fromkeys(models.values())]
    qcs = [str(layout.output("label", "qc").path(out / "label", s.id)) for s in samples]
    description = ["--description", params.description] if params.description else []
    page = layout.output("report", "report").path(out, REPORT_PREFIX)
    tasks.append(Task("report", ["report", "--outdir", str(out), "--prefix", REPORT_PREFIX, "--title", params.title,
                                 *description,
                                 "--label-qc", *qcs, "--model", *model_dirs, "--evaluation", *evaluations,
                                 "--motifs", str(motifs), "--motifs-prefix", MOTIFS_PREFIX],
                      [*qcs, *(path for m in model_dirs for path in _outputs("train", m, names=("config",))),
                       *(path for e in evaluations for path in _outputs("evaluate", e, names=("evaluation",))),
                       str(layout.output("motifs", "heads").path(motifs, MOTIFS_PREFIX))],
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
