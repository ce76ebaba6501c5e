"""``pygenome run``: the whole pipeline on one machine, resumable.

Runs the tasks of :func:`pygenome.pipeline.plan` in order, each as its ``pygenome`` command line in a process of its
own (as a Nextflow process would, so a task's outputs never depend on what ran before it). A task is skipped
when its outputs exist and its stamp (``pipeline/stamps/<task>.json``: the command line, the pygenome version and
the SHA-256 of every input) matches the task as it stands now; so after an interruption a run restarts at the first
task not done, and a changed input or parameter re-runs the tasks that read it and everything downstream (their
inputs then change too). Steps write their outputs whole or not at all and the stamp is written after them, so
nothing half-written is ever taken as done. A training task that was interrupted resumes from its last checkpoint
when its command and inputs have not changed. The parameters and the samplesheet are recorded in ``pipeline/``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.genome import read_genome
from pygenome.outputs import atomic_outputs
from pygenome.pipeline import Params, plan
from pygenome.samplesheet import read_samplesheet

QUIET = ("label", "train", "predict", "motifs")  # the steps with a progress bar (--quiet turns it off)


def run(samplesheet, outdir, params: Params = Params(), progress: bool = True, say=print) -> list[dict]:
    """Run (or resume) the pipeline; returns one record per task: ``key``, ``status`` (ran, skipped), seconds."""
    samples = read_samplesheet(samplesheet)
    outdir = Path(outdir).resolve()
    contigs = {sample.id: [c.name for c in read_genome(sample.fasta, sample.topology).contigs] for sample in samples}
    tasks = plan(samples, contigs, outdir, params)
    record = outdir / "pipeline"
    with atomic_outputs(record / "params.json", record / "samplesheet.csv") as (params_path, sheet_path):
        params_path.write_text(json.dumps({"pygenome": __version__, **params.as_dict()}, indent=2, sort_keys=True)
                               + "\n")
        shutil.copyfile(samplesheet, sheet_path)
    hashes = _HashCache(record / "hashes.json")
    done = []
    for number, task in enumerate(tasks, start=1):
        stamp_path = record / "stamps" / f"{task.key.replace('/', '__')}.json"
        started_path = stamp_path.with_suffix(".started.json")
        identity = {"argv": task.argv, "pygenome": __version__, "inputs": hashes.of(task.inputs)}
        if _read_json(stamp_path) == identity and all(Path(p).exists() for p in task.outputs):
            done.append({"key": task.key, "status": "skipped", "seconds": 0.0})
            say(f"[{number}/{len(tasks)}] {task.key}: done before, skipped")
            continue
        argv = list(task.argv)
        if task.key.startswith("train/") and _read_json(started_path) == identity and \
                (Path(argv[argv.index("--outdir") + 1]) / "checkpoints" / "last.pt").exists():
            argv.append("--resume")  # the same training was interrupted: go on from its last checkpoint
        with atomic_outputs(started_path) as (temp,):
            temp.write_text(json.dumps(identity, indent=1))
        say(f"[{number}/{len(tasks)}] {task.key}: pygenome {' '.join(argv[:1])} ..." + (" (resumed)" if
                                                                                     "--resume" in argv else ""))
        start = time.perf_counter()
        if not progress and argv[0] in QUIET:
            argv.append("--quiet")
        if subprocess.run([sys.executable, "-m", "pygenome", *argv]).returncode != 0:
            raise InputError(f"the task {task.key} failed (pygenome {' '.join(task.argv)}); fix what its error says "
                             "and run again: finished tasks are kept")
        missing = [p for p in task.outputs if not Path(p).exists()]
        if missing:
            raise RuntimeError(f"task {task.key} did not write {', '.join(missing)}")
        with atomic_outputs(stamp_path) as (temp,):
            temp.write_text(json.dumps(identity, indent=1))
        started_path.unlink()
        hashes.save()
        seconds = time.perf_counter() - start
        done.append({"key": task.key, "status": "ran", "seconds": round(seconds, 1)})
        say(f"[{number}/{len(tasks)}] {task.key}: done in {seconds:.1f} s")
    with atomic_outputs(record / "tasks.json") as (temp,):
        temp.write_text(json.dumps(done, indent=1) + "\n")
    return done


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


class _HashCache:
    """SHA-256 of files, remembered by (size, modification time) so that unchanged large inputs are read once."""

    def __init__(self, path: Path):
        self.path = path
        self.known = _read_json(path) or {}

    def of(self, paths) -> dict:
        return {str(path): self._sha256(Path(path)) for path in paths}

    def _sha256(self, path: Path) -> str | None:
        if not path.exists():
            return None  # written by an earlier task that has not run yet
        status = path.stat()
        remembered = self.known.get(str(path))
        if remembered and remembered[:2] == [status.st_size, status.st_mtime_ns]:
            return remembered[2]
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        self.known[str(path)] = [status.st_size, status.st_mtime_ns, digest.hexdigest()]
        return digest.hexdigest()

    def save(self) -> None:
        with atomic_outputs(self.path) as (temp,):
            temp.write_text(json.dumps(self.known, indent=0, sort_keys=True))
