"""``pygenome run``: the whole pipeline on one machine, resumable.

Runs the tasks of :func:`pygenome.pipeline.plan.plan` in order, each as its ``pygenome`` command line in a process of
its own (as a Nextflow process would, so a task's outputs never depend on what ran before it). A task is skipped
when its outputs exist and its stamp (``pipeline/stamps/<task>.json``: the command line, the pygenome version and
the SHA-256 of every input, with paths inside the output folder written relative to it, so a moved folder is still
done) matches the task as it stands now; so after an interruption a run restarts at the first task not done, and a
changed input or parameter re-runs the tasks that read it and everything downstream (their inputs then change too).
Steps write their outputs whole or not at all and the stamp is written after them, so nothing half-written is ever
taken as done. A training task that was interrupted resumes from its last checkpoint when its command and inputs
have not changed; a training task that changed starts afresh, the model folder of the old one moved to
``pipeline/superseded/``. One run at a time holds an output folder (``pipeline/run.lock``); each task runs in a
process group of its own, which a signal to the run is passed on to and which dies with the run. The parameters and
the samplesheet are recorded in ``pipeline/``.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pygenome import __version__
from pygenome.errors import InputError, Stopped
from pygenome.io.genome import read_genome
from pygenome.io.outputs import atomic_outputs, folder_lock, write_json
from pygenome.io.samplesheet import read_samplesheet
from pygenome.pipeline.plan import Params, plan

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)  # passed on to the running task, then the run stops


def run(samplesheet, outdir, params: Params = Params(), progress: bool = True, say=print) -> list[dict]:
    """Run (or resume) the pipeline; returns one record per task: ``key``, ``status`` (ran, skipped), ``seconds`` and
    ``peak_rss_mb`` (the task process's own peak resident memory in MiB, as it reports it: see ``pygenome/__main__``;
    None when skipped or where there is no figure)."""
    samples = read_samplesheet(samplesheet)
    outdir = Path(outdir).resolve()
    contigs = {sample.id: [c.name for c in read_genome(sample.fasta, sample.topology).contigs] for sample in samples}
    tasks = plan(samples, contigs, outdir, params)
    record = outdir / "pipeline"
    with folder_lock(record / "run.lock", f"{outdir} is in use by another `pygenome run`"):
        return _run(tasks, samplesheet, outdir, record, params, progress, say)


def _run(tasks, samplesheet, outdir: Path, record: Path, params: Params, progress: bool, say) -> list[dict]:
    with atomic_outputs(record / "params.json", record / "samplesheet.csv") as (params_path, sheet_path):
        write_json(params_path, {"pygenome": __version__, **params.as_dict()}, indent=2, sort_keys=True)
        shutil.copyfile(samplesheet, sheet_path)
    hashes = _HashCache(record / "hashes.json")
    done = []
    for number, task in enumerate(tasks, start=1):
        stamp_path = record / "stamps" / f"{task.key.replace('/', '__')}.json"
        started_path = stamp_path.with_suffix(".started.json")
        identity = {"argv": _relative(task.argv, outdir), "pygenome": __version__,
                    "inputs": _relative(hashes.of(task.inputs), outdir)}
        outputs_exist = all(Path(p).exists() for p in task.outputs)
        if outputs_exist and (_read_json(stamp_path) == identity or _finished_unstamped(started_path, identity,
                                                                                         task.outputs)):
            _write_stamp(stamp_path, identity)  # (a task that finished before its stamp was written: now stamped)
            started_path.unlink(missing_ok=True)
            done.append({"key": task.key, "status": "skipped", "seconds": 0.0, "peak_rss_mb": None})
            say(f"[{number}/{len(tasks)}] {task.key}: done before, skipped")
            continue
        argv = list(task.argv)
        note = ""
        if task.checkpoints:
            folder = Path(task.checkpoints)
            if _read_json(started_path) == identity and (folder / "checkpoints" / "last.pt").exists():
                argv.append("--resume")  # the same training was interrupted: go on from its last checkpoint
                note = " (resumed)"
            elif (folder / "model.safetensors").exists() or (folder / "checkpoints" / "last.pt").exists():
                # another training's folder (its settings or data changed): kept, out of the way
                aside = record / "superseded" / task.key.replace("/", "__")
                if aside.exists():
                    shutil.rmtree(aside)
                aside.parent.mkdir(parents=True, exist_ok=True)
                folder.rename(aside)
                note = f" (its settings or inputs changed: the previous model folder is now {aside})"
        _write_stamp(started_path, identity)
        say(f"[{number}/{len(tasks)}] {task.key}: pygenome {argv[0]} ...{note}")
        start = time.perf_counter()
        if not progress and task.progress_bar:
            argv.append("--quiet")
        returncode, peak_rss_mb = _run_task([sys.executable, "-m", "pygenome", *argv], record / "peak_rss.txt")
        if returncode != 0:
            raise InputError(f"the task {task.key} failed (pygenome {' '.join(task.argv)}); fix what its error says "
                             "and run again: finished tasks are kept")
        missing = [p for p in task.outputs if not Path(p).exists()]
        if missing:
            raise RuntimeError(f"task {task.key} did not write {', '.join(missing)}")
        _write_stamp(stamp_path, identity)
        started_path.unlink()
        hashes.save()
        seconds = time.perf_counter() - start
        done.append({"key": task.key, "status": "ran", "seconds": round(seconds, 1), "peak_rss_mb": peak_rss_mb})
        say(f"[{number}/{len(tasks)}] {task.key}: done in {seconds:.1f} s")
    with atomic_outputs(record / "tasks.json") as (temp,):
        write_json(temp, done, indent=1)
    return done


def _run_task(command: list[str], peak_file: Path) -> tuple[int, float | None]:
    """Run a task in a process group of its own that dies with this process (Linux) and receives the signals of
    :data:`FORWARDED` sent to this one; after such a signal, raise :class:`Stopped` once the task has ended. Returns
    the exit status and the task's peak resident memory in MiB, which a ``python -m pygenome`` task writes to
    ``peak_file`` as it exits (None where it wrote none)."""
    peak_file.unlink(missing_ok=True)
    task = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent,
                            env={**os.environ, "PYGENOME_PEAK_RSS": str(peak_file)})
    received = []

    def forward(signum, frame):
        received.append(signum)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(task.pid, signum)

    main_thread = threading.current_thread() is threading.main_thread()
    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED} if main_thread else {}
    try:
        returncode = task.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        raise Stopped(received[0])
    try:
        peak_rss_mb = round(int(peak_file.read_text()) / 1024, 1)  # kilobytes
    except (OSError, ValueError):
        peak_rss_mb = None
    peak_file.unlink(missing_ok=True)
    return returncode, peak_rss_mb


def _die_with_parent() -> None:
    """In the child, before exec: ask the kernel for SIGTERM when the parent dies (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _relative(value, outdir: Path):
    """``value`` (a command line, or a map of paths to digests) with ``outdir`` written as ``{outdir}``."""
    prefix = str(outdir)

    def rewrite(text: str) -> str:
        return "{outdir}" + text[len(prefix):] if text == prefix or text.startswith(prefix + "/") else text

    if isinstance(value, dict):
        return {rewrite(key): digest for key, digest in value.items()}
    return [rewrite(item) for item in value]


def _finished_unstamped(started_path: Path, identity: dict, outputs) -> bool:
    """Whether the task of ``identity`` was started and wrote every output after it started (it finished, but the
    run was stopped before it wrote the stamp; or the task outlived a killed run)."""
    if _read_json(started_path) != identity:
        return False
    started = started_path.stat().st_mtime_ns
    return all(Path(p).stat().st_mtime_ns >= started for p in outputs)


def _write_stamp(path: Path, identity: dict) -> None:
    with atomic_outputs(path) as (temp,):
        write_json(temp, identity, indent=1)


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
            write_json(temp, self.known, indent=0, sort_keys=True)
