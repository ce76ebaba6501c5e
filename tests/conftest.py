"""Shared fixtures: a small synthetic genome (a circular chromosome and a circular plasmid, or linear on request)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pygenome.simulate import random_sequence, write_fasta

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_file(relative: str) -> Path:
    """A file of ../shared/data, or skip the test when it is absent (a fresh clone has none)."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture
def contigs() -> dict[str, str]:
    rng = np.random.default_rng(7)
    return {"chrom": random_sequence(5000, rng), "plasmid": random_sequence(1200, rng)}


@pytest.fixture
def fasta(tmp_path, contigs) -> Path:
    return write_fasta(tmp_path / "genome.fa", [(name, seq, "circular") for name, seq in contigs.items()])
