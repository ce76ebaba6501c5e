"""The Python API: ``import pygenome`` gives the steps and the readers, lazily, and docs/api.md's example runs."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pygenome

ROOT = Path(__file__).resolve().parents[1]


def test_every_name_of_the_api_resolves_and_nothing_stray_is_exported():
    assert all(callable(getattr(pygenome, name)) for name in pygenome.__all__ if name != "__version__")
    assert set(dir(pygenome)) == set(pygenome.__all__)
    code = "import sys, pygenome; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_the_worked_example_of_the_docs_runs(tmp_path):
    block = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), re.S).group(1)
    shutil.copytree(ROOT / "assets" / "test", tmp_path / "assets" / "test")
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert "held-out ROC AUC" in done.stdout and "parameters" in done.stdout
