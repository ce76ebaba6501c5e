"""The plan of a run: which models are trained and which model predicts each genome, for labelled genomes, genomes
without labels, a given model and leave-one-genome-out (no task is run here; tests/pipeline/test_run.py and
tests/pipeline/test_surveys.py run them)."""

import pytest

from pygenome.errors import InputError
from pygenome.io.model_store import model_folder
from pygenome.io.samplesheet import Sample
from pygenome.pipeline.plan import Params, models, plan

ALPHA = Sample("alpha", "/data/alpha.fa", bam="/data/alpha.bam")
BETA = Sample("beta", "/data/beta.fa", sites="/data/beta.bed")
FREE = Sample("free", "/data/free.fa")
CONTIGS = {"alpha": ["chrom"], "beta": ["chrom", "plasmid"], "free": ["chrom"]}


def _by_step(tasks):
    steps = {}
    for task in tasks:
        steps.setdefault(task.argv[0], []).append(task)
    return steps


def _option(task, name):
    """The values after ``name`` in a task's command line (up to the next option)."""
    argv = task.argv
    start = argv.index(name) + 1
    end = next((i for i in range(start, len(argv)) if argv[i].startswith("--")), len(argv))
    return argv[start:end]


def test_a_genome_without_labels_is_predicted_by_the_joint_model_at_its_predicted_sites(tmp_path):
    tasks = _by_step(plan([ALPHA, BETA, FREE], CONTIGS, tmp_path, Params()))
    assert [t.key for t in tasks["label"]] == ["label/alpha", "label/beta"]
    assert [t.key for t in tasks["train"]] == ["train/alpha", "train/beta", "train/joint"]
    joint = next(t for t in tasks["train"] if t.key == "train/joint")
    assert joint.argv.count("--genome") == 2
    free = next(t for t in tasks["predict"] if t.key == "predict/free/chrom")
    assert _option(free, "--model") == [str(tmp_path / "train" / "joint")]
    assert _option(free, "--attention-sites") == ["predicted"]
    assert [t.key for t in tasks["evaluate"]] == ["evaluate/alpha", "evaluate/beta"]  # nothing to evaluate free on
    assert [t.key for t in tasks["baseline"]] == ["baseline/alpha", "baseline/beta"]
    motifs = tasks["motifs"][0]
    assert [motifs.argv[i + 1] for i, a in enumerate(motifs.argv) if a == "--genome"] == ["alpha", "beta", "free"]
    assert "--label-qc" in tasks["report"][0].argv and len(_option(tasks["report"][0], "--model")) == 3


def test_with_one_labelled_genome_its_model_is_the_joint_model():
    chosen, trained = models([ALPHA, FREE], Params())
    assert chosen == {"alpha": "alpha", "free": "alpha"} and list(trained) == ["alpha"]


def test_a_given_model_predicts_every_genome_and_nothing_is_trained(tmp_path):
    bundled = str(model_folder("ecoli-cpu").resolve())
    tasks = _by_step(plan([ALPHA, FREE], CONTIGS, tmp_path, Params(model=bundled)))
    assert "train" not in tasks
    assert {tuple(_option(t, "--model")) for t in tasks["predict"]} == {(bundled,)}
    evaluate = tasks["evaluate"][0]
    assert evaluate.key == "evaluate/ecoli-cpu" and _option(evaluate, "--held-out") == ["auto"]
    assert _option(evaluate, "--labels") == [str(tmp_path / "label" / "alpha.labels.track.npz")]


def test_leave_one_out_trains_each_genome_s_model_on_the_others_and_evaluates_it_there(tmp_path):
    tasks = _by_step(plan([ALPHA, BETA, FREE], CONTIGS, tmp_path, Params(model_scope="leave_one_out")))
    trained = {t.key: [t.argv[i + 1] for i, a in enumerate(t.argv) if a == "--genome"] for t in tasks["train"]}
    assert trained == {"train/without_alpha": ["beta"], "train/without_beta": ["alpha"],
                       "train/joint": ["alpha", "beta"]}
    evaluations = {t.key: _option(t, "--labels") for t in tasks["evaluate"]}
    assert evaluations == {"evaluate/without_alpha": [str(tmp_path / "label" / "alpha.labels.track.npz")],
                           "evaluate/without_beta": [str(tmp_path / "label" / "beta.labels.track.npz")]}
    alpha = next(t for t in tasks["predict"] if t.key == "predict/alpha/chrom")
    assert _option(alpha, "--model") == [str(tmp_path / "train" / "without_alpha")]


@pytest.mark.parametrize("samples, params, message", [
    ([FREE], Params(), "no genome of the samplesheet has anything to label from"),
    ([ALPHA, FREE], Params(model_scope="leave_one_out"), "needs at least 2 labelled genomes"),
])
def test_plans_that_cannot_run_are_refused(samples, params, message):
    with pytest.raises(InputError, match=message):
        models(samples, params)


def test_an_annotated_genome_has_its_predicted_sites_and_labels_classed(tmp_path):
    beta = Sample("beta", "/data/beta.fa", sites="/data/beta.bed", annotation="/data/beta.gff3")
    free = Sample("free", "/data/free.fa", annotation="/data/free.gbff.gz")
    tasks = plan([ALPHA, beta, free], CONTIGS, tmp_path, Params())
    keys = [t.key for t in tasks]
    classify = [t for t in tasks if t.argv[0] == "classify"]
    assert [t.key for t in classify] == ["classify/beta/predicted", "classify/beta/known", "classify/free/predicted"]
    assert keys.index("classify/beta/predicted") > max(keys.index(k) for k in keys if k.startswith("predict/"))
    predicted, known, free_predicted = classify
    labels = str(tmp_path / "label" / "beta.labels.track.npz")
    assert _option(predicted, "--sites") == [str(tmp_path / "predict" / "beta" / f"beta.{key}.predicted.bed")
                                             for key in ("chrom", "plasmid")]
    assert _option(predicted, "--known") == [labels] and _option(predicted, "--annotation") == ["/data/beta.gff3"]
    assert _option(known, "--sites") == [labels] and "--known" not in known.argv
    assert "--known" not in free_predicted.argv and _option(free_predicted, "--prefix") == ["free.predicted"]
    report = next(t for t in tasks if t.key == "report")
    assert _option(report, "--classes") == [str(tmp_path / "classify" / f"{name}.classes.json")
                                            for name in ("beta.predicted", "beta.known", "free.predicted")]
    assert set(_option(report, "--classes")) <= set(report.inputs)
