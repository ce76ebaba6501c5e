"""The package's reshaping (issue 14) changed no step's outputs: the same commands, run with the code of the last
commit before it and with this tree, write the same bytes.

The run covers label, train, predict, baseline, evaluate and motifs (``pygenome run`` on the bundled test genome
with a tiny model), gia on its model, and a CNN's training and filters. Left out of the byte comparison, each for a
reason: the run's own bookkeeping (``pipeline/``: absolute input paths and times), ``timing.json`` (seconds), the
report (it shows those seconds), and in the attention files the ``sites`` entry of their metadata, which
records the name of the sites file since b62c2ec (it recorded the path as given); checkpoints are compared by what
they hold (the pickle of a state dict lists its modules, and the CNN's ReLUs and pool are modules now, without
weights of their own). The attribution arrays are not
compared: the reshaping changed their format (ISM written centred). Needs the repository's history (skipped
without it, e.g. in a shallow clone).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "c6c92ba"  # the last commit before the reshaping
TINY = {"n_layers": 1, "n_heads": 2, "d_model": 8, "d_head": 4, "context": 16, "steps": 300, "batch_size": 4,
        "segment_length": 32, "eval_every": 100, "checkpoint_every": 10, "warmup_steps": 2}
COMMANDS = [
    ["run", "--samplesheet", "sheet.csv", "--config", "params.yaml", "--outdir", "results", "--quiet"],
    ["gia", "--model", "results/train/beta", "--fasta", "beta.fa", "--motif", "TATAAT", "--at", "0", "4",
     "--backgrounds", "50", "--outdir", "gia", "--prefix", "beta", "--threads", "1"],
    ["train", "--genome", "beta", "beta.fa", "results/label/beta.labels.track.npz", "--outdir", "cnn", "--preset",
     "cnn", "--set", "steps=60", "eval_every=30", "batch_size=4", "segment_length=64", "--threads", "1", "--quiet"],
    ["filters", "--model", "cnn", "--fasta", "beta.fa", "--sites", "beta.bed", "--outdir", "filters", "--prefix",
     "beta", "--min-sites", "2"],
]
NOT_COMPARED = ("results/pipeline/", "results/report.html")


def old_code(folder: Path) -> Path:
    """The package (and the assets its data link to) as committed in ``BEFORE``, unpacked into ``folder``."""
    if shutil.which("git") is None or subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{BEFORE}^{{commit}}"],
                                                     capture_output=True).returncode:
        pytest.skip(f"commit {BEFORE} is not in this checkout's history")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE, "pygenome", "assets"], capture_output=True,
                             check=True).stdout
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def outputs(code: Path, folder: Path) -> Path:
    """The outputs of :data:`COMMANDS` run in ``folder`` with the package at ``code``."""
    folder.mkdir()
    for name in ("beta.fa", "beta.bed"):
        shutil.copy(ROOT / "assets" / "test" / name, folder / name)
    (folder / "sheet.csv").write_text("id,fasta,sites\nbeta,beta.fa,beta.bed\n")
    (folder / "params.yaml").write_text(json.dumps({"training": TINY, "threads": 1}))
    environment = {**os.environ, "PYTHONPATH": str(code), "OMP_NUM_THREADS": "1"}
    for command in COMMANDS:
        done = subprocess.run([sys.executable, "-m", "pygenome", *command], cwd=folder, env=environment,
                              capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stderr[-2000:])
    return folder


def files(folder: Path) -> dict[str, Path]:
    return {str(path.relative_to(folder)): path for path in sorted(folder.rglob("*")) if path.is_file()
            and not str(path.relative_to(folder)).startswith(NOT_COMPARED) and path.name != "timing.json"}


def same_attention(before: Path, after: Path) -> bool:
    with np.load(before) as old, np.load(after) as new:
        if sorted(old.files) != sorted(new.files):
            return False
        for name in old.files:
            if name == "meta":
                old_meta, new_meta = json.loads(str(old[name])), json.loads(str(new[name]))
                old_meta["sites"] = Path(old_meta["sites"]).name
                if old_meta != new_meta:
                    return False
            elif not np.array_equal(old[name], new[name]):
                return False
    return True


def same_checkpoint(before: Path, after: Path) -> bool:
    import torch

    def equal(old, new) -> bool:
        if isinstance(old, torch.Tensor):
            return isinstance(new, torch.Tensor) and old.dtype == new.dtype and torch.equal(old, new)
        if isinstance(old, dict):
            return isinstance(new, dict) and list(old) == list(new) and all(equal(old[k], new[k]) for k in old)
        if isinstance(old, (list, tuple)):
            return type(old) is type(new) and len(old) == len(new) and all(map(equal, old, new))
        return old == new

    return equal(torch.load(before, weights_only=True), torch.load(after, weights_only=True))


@pytest.mark.slow
def test_every_step_writes_the_bytes_it_wrote_before_the_reshaping(tmp_path):
    before = outputs(old_code(tmp_path / "code"), tmp_path / "before")
    after = outputs(ROOT, tmp_path / "after")
    old, new = files(before), files(after)
    assert sorted(old) == sorted(new)
    assert len(old) > 100  # the run's outputs, gia's, the CNN's and its filters' (with their logos)
    differing = [name for name in old if old[name].read_bytes() != new[name].read_bytes()
                 and not (name.endswith(".attention.npz") and same_attention(old[name], new[name]))
                 and not (name.endswith(".pt") and same_checkpoint(old[name], new[name]))]
    assert differing == []
