"""The container images install containers/requirements.lock and then pygenome without its dependencies, so the lock
must pin each of pygenome's own requirements (pyproject.toml's, as installed; torch aside: the images install it
first, as the pin). That the pins hold everything those need in turn is checked in the image itself (``pip check``,
tests/test_container.py)."""

import re
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_pins_every_requirement_of_pyproject():
    requirements = [Requirement(text) for text in distribution("pygenome").requires or []]
    required = {key(r.name) for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})} - {"torch"}
    lines = (ROOT / "containers" / "requirements.lock").read_text().splitlines()
    pinned = {key(line.split("==")[0]) for line in lines if line and not line.startswith("#")}
    assert sorted(required - pinned) == []  # e.g. tangermeme, once added to pyproject.toml
