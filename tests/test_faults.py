"""The fault-injection suite: every predictable fault a user can make or meet, as a case.

Each case makes one bad input or fault next to good inputs, runs the ``pygenome`` command it breaks, and checks the
exit status (2: refused; 0: done, with a warning), a fragment of the message, that no traceback was printed, and,
for a refusal, that the folder holds nothing new. Faults of the operating system (a full disk, a read-only folder)
run the command in a process of its own under a file-size limit or as an unprivileged user. The interruptions of
``pygenome run`` (kills, signals, concurrent runs, changed settings, a moved folder) are in tests/pipeline/test_run.py.

docs/reliability.md's fault matrix is made from :data:`CASES`: ``python -m tests.test_faults`` rewrites it, and
:func:`test_the_fault_matrix_in_the_docs_is_current` fails when it is out of date.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from pygenome.cli import main
from pygenome.io.outputs import folder_lock
from pygenome.io.tracks import load_track, save_track
from pygenome.model.windows import GenomeInput
from pygenome.pipeline.simulate import promoter_genome, random_sequence, tss_reads, write_bam, write_fasta
from pygenome.steps.label import label
from pygenome.steps.train import configs, train
from tests.conftest import write_sites

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
TINY = {"n_layers": 1, "n_heads": 2, "d_model": 8, "d_head": 4, "context": 16, "steps": 20, "batch_size": 4,
        "segment_length": 32, "eval_every": 10, "checkpoint_every": 10, "warmup_steps": 2}
TINY_SET = [f"{name}={value}" for name, value in TINY.items()]


@dataclass(frozen=True)
class Fault:
    """One fault: ``make(world, folder)`` writes what it needs into ``folder`` and returns the command's arguments
    (its outputs go to ``folder / "out"``)."""

    name: str
    step: str
    what: str  # the fault, in words (a row of the matrix)
    says: str  # a fragment of the message (a regular expression)
    make: Callable[[dict, Path], list[str]]
    status: int = 2  # 2: refused; 0: done, with the warning of ``says``
    how: str = "in-process"  # or "disk-full" (RLIMIT_FSIZE) or "read-only" (an unprivileged user, a 0555 folder)
    held: str | None = None  # a lock file (below the folder) that the test holds while the command runs


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> dict:
    """Good inputs: a 20 kb genome with 40 planted promoters, its sites as BED, alignments of TSS reads (BAM),
    its label track, and a tiny model trained on it."""
    folder = tmp_path_factory.mktemp("world")
    sequence, sites = promoter_genome(np.random.default_rng(5), 20_000, 40)
    fasta = write_fasta(folder / "g.fa", [("chrom", sequence, "circular")])
    bed = write_sites(folder / "sites.bed", sites)
    bam = write_bam(folder / "reads.bam", {"chrom": sequence},
                    tss_reads(sites, {"chrom": sequence}, 10, 40, np.random.default_rng(6)))
    label(fasta, folder, "g", sites=bed, progress=False)
    model_config, train_config = configs("cpu", TINY)
    train([GenomeInput("g", str(fasta), str(folder / "g.labels.track.npz"))], folder / "model", model_config,
          train_config, progress=False)
    return {"folder": folder, "fasta": fasta, "sequence": sequence, "sites": bed, "bam": bam,
            "labels": folder / "g.labels.track.npz", "model": folder / "model"}


def label_argv(world, folder, **inputs) -> list[str]:
    values = {"fasta": world["fasta"], "sites": world["sites"], **inputs}
    argv = ["label", "--outdir", str(folder / "out"), "--prefix", "g", "--quiet"]
    for name, value in values.items():
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    return argv


def train_argv(world, folder, labels=None, fasta=None, extra=()) -> list[str]:
    return ["train", "--genome", "g", str(fasta or world["fasta"]), str(labels or world["labels"]), "--outdir",
            str(folder / "out"), "--set", *TINY_SET, "--quiet", *extra]


def predict_argv(world, model) -> list[str]:
    return ["predict", "--model", str(model), "--fasta", str(world["fasta"]), "--outdir",
            str(Path(model).parent / "out"), "--prefix", "g", "--quiet"]


def labels_with(world, folder, change) -> Path:
    """A copy of the good label track with ``change(array)`` applied to its arrays (float, to hold NaN)."""
    track = load_track(world["labels"])
    arrays = {name: change(array.astype(np.float64)) for name, array in track.arrays.items()}
    path = folder / "bad.labels.track.npz"
    save_track(path, type(track)(track.kind, track.genome, arrays, track.producer))
    return path


def set_first(value):
    def change(array):
        array.flat[0] = value
        return array
    return change


def model_copy(world, folder, damage) -> Path:
    model = folder / "model"
    shutil.copytree(world["model"], model)
    damage(model)
    return model


def object_track(world, folder) -> Path:
    """A track file whose arrays are object arrays (numpy would need pickle to read them)."""
    path = folder / "object.labels.track.npz"
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(world["labels"]) as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            target.writestr(name, buffer.getvalue() if name == "contig_0.npy" else source.read(name))
    return path


def stale_index_bam(world, folder) -> Path:
    """The good BAM with every third read removed after it was indexed, its old index kept."""
    import pysam

    bam = folder / "stale.bam"
    with pysam.AlignmentFile(world["bam"]) as source, pysam.AlignmentFile(bam, "wb", template=source) as target:
        for number, read in enumerate(source):
            if number % 3:
                target.write(read)
    shutil.copy(str(world["bam"]) + ".bai", str(bam) + ".bai")
    os.utime(str(bam) + ".bai", (1, 1))
    return bam


def unindexed_unsorted_bam(world, folder) -> Path:
    reads = tss_reads(*_sites_and_contigs(world), 2, 40, np.random.default_rng(1))[::-1]
    return write_bam(folder / "unsorted.bam", {"chrom": world["sequence"]}, reads, sort=False)


def unindexed_bam(world, folder) -> Path:
    bam = folder / "unindexed.bam"
    shutil.copy(world["bam"], bam)
    return bam


def _sites_and_contigs(world):
    from pygenome.io.genome import read_genome
    from pygenome.io.sites import read_sites_bed

    return read_sites_bed(world["sites"], read_genome(world["fasta"])), {"chrom": world["sequence"]}


def truncated(world, folder) -> Path:
    bam = folder / "truncated.bam"
    data = Path(world["bam"]).read_bytes()
    bam.write_bytes(data[: len(data) // 2])
    shutil.copy(str(world["bam"]) + ".bai", str(bam) + ".bai")
    return bam


def write(folder, name, text) -> Path:
    (folder / name).write_text(text)
    return folder / name


def short_genome(folder) -> tuple[Path, Path]:
    """A 12-nt genome (shorter than the tiny model's context) with one site, labelled."""
    fasta = write_fasta(folder / "short.fa", [("tiny", "ACGTACGTACGT", "linear")])
    bed = write(folder, "short.bed", "tiny\t3\t4\ts\t0\t+\n")
    label(fasta, folder, "short", sites=bed, progress=False)
    return fasta, folder / "short.labels.track.npz"


def all_n_genome(world, folder) -> Path:
    return write_fasta(folder / "withn.fa", [("chrom", world["sequence"], "circular"), ("gap", "N" * 500, "linear")])


def no_sites_labels(world, folder) -> Path:
    label(world["fasta"], folder, "empty", sites=write(folder, "empty.bed", ""), progress=False)
    return folder / "empty.labels.track.npz"


def trained_once(world, folder) -> list[str]:
    shutil.copytree(world["model"], folder / "out")
    return train_argv(world, folder)


def corrupt_checkpoint(world, folder) -> list[str]:
    (folder / "out" / "checkpoints").mkdir(parents=True)
    (folder / "out" / "checkpoints" / "last.pt").write_bytes(b"PK\x03\x04 not a checkpoint")
    return train_argv(world, folder, extra=["--resume"])


def held_lock(world, folder) -> list[str]:
    return ["run", "--samplesheet", str(write(folder, "sheet.csv", f"id,fasta,sites\ng,{world['fasta']},"
                                               f"{world['sites']}\n")), "--outdir", str(folder / "out"), "--quiet"]


CASES = [
    # alignments and sites
    Fault("bam-truncated", "label", "a BAM cut short", "truncated",
          lambda w, f: label_argv(w, f, bam=truncated(w, f), sites=None)),
    Fault("bam-stale-index", "label", "a BAM changed after it was indexed (subsampled, old index kept)",
          "index",
          lambda w, f: label_argv(w, f, bam=stale_index_bam(w, f), sites=None)),
    Fault("bam-unsorted", "label", "an unsorted BAM without index", "sorted by unsorted.*samtools sort",
          lambda w, f: label_argv(w, f, bam=unindexed_unsorted_bam(w, f), sites=None)),
    Fault("bam-unindexed", "label", "a BAM without index", r"no index .*samtools index",
          lambda w, f: label_argv(w, f, bam=unindexed_bam(w, f), sites=None)),
    Fault("bam-build-index", "label", "a BAM without index, with --build-index (writes beside the input)",
          "had no index; --build-index wrote one beside it",
          lambda w, f: [*label_argv(w, f, bam=unindexed_bam(w, f), sites=None), "--build-index"], status=0),
    Fault("bed-header", "label", "a BED whose header line has no '#'", r"line 1: .*a header line\? start it with",
          lambda w, f: label_argv(w, f, sites=write(f, "h.bed", "contig\tstart\tend\nchrom\t5\t6\n"))),
    Fault("bed-contig", "label", "a BED naming a contig the genome lacks", "contig 'chr9' is not in the genome",
          lambda w, f: label_argv(w, f, sites=write(f, "c.bed", "chr9\t5\t6\n"))),
    Fault("bed-one-based", "label", "a BED interval past the contig's end", "is this file 1-based",
          lambda w, f: label_argv(w, f, sites=write(f, "o.bed", "chrom\t19999\t20001\n"))),
    Fault("bed-empty", "label", "an empty sites BED", "no sites on chrom: their labels from it are all 0",
          lambda w, f: label_argv(w, f, sites=write(f, "e.bed", "")), status=0),
    Fault("contig-all-n", "label", "a contig that is all N", "contig gap is all N",
          lambda w, f: label_argv(w, f, fasta=all_n_genome(w, f)), status=0),
    Fault("prefix-path", "label", "a --prefix that is a path (../x)", "not a file-name prefix",
          lambda w, f: [*label_argv(w, f)[:4], "../x", *label_argv(w, f)[5:]]),
    Fault("outdir-is-file", "label", "an output folder that is a file", "a file stands where a folder is needed",
          lambda w, f: (write(f, "out", "a file"), label_argv(w, f))[1]),
    Fault("disk-full", "label", "a full disk (a file-size limit of 4 KiB)", "cannot write .*file system is full",
          lambda w, f: label_argv(w, f), how="disk-full"),
    Fault("read-only", "label", "a read-only output folder", "cannot write there .*Permission denied",
          lambda w, f: label_argv(w, f), how="read-only"),
    # settings
    Fault("set-not-a-number", "train", "--set steps=abc", "steps must be a whole number, not 'abc'",
          lambda w, f: train_argv(w, f, extra=["--set", "steps=abc"])),
    Fault("set-nan", "train", "--set learning_rate=nan", "learning_rate must be a finite number",
          lambda w, f: train_argv(w, f, extra=["--set", "learning_rate=NaN"])),
    Fault("set-bool", "train", "--set n_layers=true", "n_layers must be a whole number, not True",
          lambda w, f: train_argv(w, f, extra=["--set", "n_layers=true"])),
    Fault("set-unknown", "train", "--set epochs=3 (no such setting)", "unknown setting 'epochs'",
          lambda w, f: train_argv(w, f, extra=["--set", "epochs=3"])),
    Fault("config-not-object", "train", "a --config that is a JSON list", "expected a JSON object of settings",
          lambda w, f: train_argv(w, f, extra=["--config", str(write(f, "c.json", "[1, 2]"))])),
    Fault("config-not-json", "train", "a --config that is not JSON", "cannot read as JSON settings",
          lambda w, f: train_argv(w, f, extra=["--config", str(write(f, "c.json", "steps: 3"))])),
    # label tracks
    Fault("labels-nan", "train", "a label track holding NaN", r"label nan .*other than 0 or 1",
          lambda w, f: train_argv(w, f, labels=labels_with(w, f, set_first(np.nan)))),
    Fault("labels-two", "train", "a label track holding 2", r"label 2.0 .*other than 0 or 1",
          lambda w, f: train_argv(w, f, labels=labels_with(w, f, set_first(2)))),
    Fault("labels-negative", "train", "a label track holding -1", r"label -1.0 .*other than 0 or 1",
          lambda w, f: train_argv(w, f, labels=labels_with(w, f, set_first(-1)))),
    Fault("labels-all-positive", "train", "labels that are all 1", "nothing to tell apart",
          lambda w, f: train_argv(w, f, labels=labels_with(w, f, np.ones_like))),
    Fault("labels-none-positive", "train", "labels that are all 0 (from an empty BED)", "no positive labels",
          lambda w, f: train_argv(w, f, labels=no_sites_labels(w, f))),
    Fault("labels-object-array", "train", "a track file of object arrays (numpy would need pickle)",
          "not a readable array",
          lambda w, f: train_argv(w, f, labels=object_track(w, f))),
    Fault("labels-not-npz", "train", "a track file that is not a track",
          r"not a readable pygenome track file \(not an .npz archive",
          lambda w, f: train_argv(w, f, labels=write(f, "x.labels.track.npz", "text"))),
    Fault("labels-other-genome", "train", "labels of another genome", "made from genome",
          lambda w, f: train_argv(w, f, fasta=write_fasta(f / "other.fa", [("chrom", random_sequence(
              20_000, np.random.default_rng(9)), "circular")]))),
    Fault("genome-too-short", "train", "a genome shorter than the model's context", "shorter than the context",
          lambda w, f: train_argv(w, f, *reversed(short_genome(f)))),
    # model folders
    Fault("model-exists", "train", "an output folder that holds a model already, without --resume",
          "already holds a model or checkpoint", trained_once),
    Fault("checkpoint-corrupt", "train", "a damaged checkpoints/last.pt, with --resume",
          "last.pt: not a readable checkpoint", corrupt_checkpoint),
    Fault("train-disk-full", "train", "a full disk while checkpointing", "cannot write .*file system is full",
          lambda w, f: train_argv(w, f), how="disk-full"),
    Fault("safetensors-truncated", "predict", "a truncated model.safetensors", "not readable safetensors",
          lambda w, f: predict_argv(w, model_copy(w, f, lambda m: (m / "model.safetensors").write_bytes(
              (m / "model.safetensors").read_bytes()[:200])))),
    Fault("config-json-invalid", "predict", "an invalid config.json", "not the config.json of `pygenome train`",
          lambda w, f: predict_argv(w, model_copy(w, f, lambda m: (m / "config.json").write_text("{")))),
    Fault("architecture-mismatch", "predict", "weights of another architecture than config.json",
          "does not fit the architecture", lambda w, f: predict_argv(w, model_copy(w, f, widen))),
    Fault("model-missing", "predict", "a model folder without a model", "no config.json",
          lambda w, f: predict_argv(w, (f / "empty").mkdir() or f / "empty")),
    # runs
    Fault("train-locked", "train", "a second trainer in a model folder in use", r"in use by another training "
          r"\(PID \d+", lambda w, f: train_argv(w, f), held="out/.pygenome.lock"),
    Fault("run-locked", "run", "a second `pygenome run` on a folder in use", r"in use by another `pygenome run` "
          r"\(PID \d+", held_lock, held="out/pipeline/run.lock"),
]


def widen(model: Path) -> None:
    record = json.loads((model / "config.json").read_text())
    record["model"]["d_model"] *= 2
    (model / "config.json").write_text(json.dumps(record))


def snapshot(folder: Path) -> dict:
    """Every path below ``folder``, with the size and modification time of each file."""
    return {str(p.relative_to(folder)): None if p.is_dir() else (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*")}


def run_isolated(argv: list[str], how: str, folder: Path) -> tuple[int, str]:
    """The command in a process of its own: under a 4 KiB file-size limit, or as user nobody (whom a 0555 output
    folder does not let write)."""
    if how == "disk-full":
        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
    else:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        limit = _without_root_override if os.geteuid() == 0 else None
    done = subprocess.run([sys.executable, "-m", "pygenome", *argv], capture_output=True, text=True,
                          preexec_fn=limit, cwd=folder, env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    return done.returncode, done.stderr


def _without_root_override() -> None:
    """In the child, before exec: drop root's power to write where permissions forbid it (CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH, from the bounding set), so a 0555 folder is read-only to it too."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "cannot drop CAP_DAC_OVERRIDE")


@pytest.mark.parametrize("fault", CASES, ids=[fault.name for fault in CASES])
def test_a_fault_is_a_clear_error_and_leaves_nothing(fault, world, tmp_path, capsys):
    folder = tmp_path / "case"
    folder.mkdir()
    if fault.how == "read-only":
        folder.chmod(0o755)
        tmp_path.chmod(0o755)
    argv = fault.make(world, folder)
    if fault.how == "read-only":
        (folder / "out").mkdir()
    before = snapshot(folder)
    if fault.how != "in-process":
        status, stderr = run_isolated(argv, fault.how, folder)
    elif fault.held:
        with folder_lock(folder / fault.held, "held by this test"):
            before = snapshot(folder)
            status, stderr = _in_process(argv, capsys)
            after = snapshot(folder)
    else:
        status, stderr = _in_process(argv, capsys)
    assert status == fault.status, stderr
    assert "Traceback" not in stderr
    assert re.search(fault.says, stderr, re.S), stderr
    expected = "error: " if fault.status else "warning: "
    assert f"pygenome {fault.step}: {expected}" in stderr or (fault.name == "prefix-path" and "error:" in stderr)
    if fault.status:
        if fault.how == "read-only":
            for path in [folder, *folder.rglob("*")]:
                path.chmod(0o755)
        assert (after if fault.held else snapshot(folder)) == before, \
            "a refused command changed its folder"


def _in_process(argv, capsys) -> tuple[int, str]:
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's refusals
        status = exit.code
    return status, capsys.readouterr().err


def test_a_header_saying_unsorted_over_sorted_indexed_records_is_read(world, tmp_path):
    """``SO:unsorted`` in the header of records that are sorted and indexed (as some aligners write it)."""
    import pysam

    bam = tmp_path / "so_unsorted.bam"
    with pysam.AlignmentFile(world["bam"]) as source:
        header = source.header.to_dict()
        header["HD"]["SO"] = "unsorted"
        with pysam.AlignmentFile(bam, "wb", header=header) as target:
            for read in source:
                target.write(read)
    pysam.index(str(bam))
    assert main(label_argv(world, tmp_path, bam=bam, sites=None)) == 0
    assert main(label_argv(world, tmp_path / "b", bam=world["bam"], sites=None)) == 0
    assert (tmp_path / "out" / "g.sites.bed").read_bytes() == (tmp_path / "b" / "out" / "g.sites.bed").read_bytes()
    ours, theirs = (load_track(folder / "out" / "g.labels.track.npz") for folder in (tmp_path, tmp_path / "b"))
    assert ours.arrays["chrom"].sum() > 0 and np.array_equal(ours.arrays["chrom"], theirs.arrays["chrom"])


def matrix() -> str:
    """The fault matrix of docs/reliability.md, from :data:`CASES`."""
    rows = ["| step | fault | exit | the message says |", "|---|---|---|---|"]
    for fault in CASES:
        how = {"disk-full": " (RLIMIT_FSIZE)", "read-only": " (as an unprivileged user)"}.get(fault.how, "")
        says = fault.says.replace("\\d+", "n").replace(".*", " … ").replace("\\", "").replace("|", "\\|")
        rows.append(f"| {fault.step} | {fault.what}{how} | {fault.status or '0, warns'} | {says} |")
    return "\n".join(rows) + "\n"


BEGIN, END = "<!-- fault matrix: python -m tests.test_faults -->\n", "<!-- end of the fault matrix -->\n"


def test_the_fault_matrix_in_the_docs_is_current():
    text = DOCS.read_text()
    assert BEGIN in text and END in text
    assert text.split(BEGIN)[1].split(END)[0] == matrix(), "run `python -m tests.test_faults` to update it"


if __name__ == "__main__":
    text = DOCS.read_text()
    head, rest = text.split(BEGIN)
    DOCS.write_text(head + BEGIN + matrix() + END + rest.split(END)[1])


def test_json_is_written_strict_and_every_json_output_parses_strictly(world):
    """NaN and infinities are written null (once: bare NaN, which JSON parsers other than Python's refuse)."""
    from pygenome.io.outputs import json_text

    assert json_text({"a": float("nan"), "b": [np.float32(1.5), np.inf], "c": np.int64(3)}) == \
        '{"a": null, "b": [1.5, null], "c": 3}\n'

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    outputs = list(world["folder"].rglob("*.json"))
    assert len(outputs) >= 4  # the label QC and the model folder's config, metrics, timing
    for path in outputs:
        json.loads(path.read_text(), parse_constant=refuse)
