"""Shared fixtures: a small synthetic genome (a circular chromosome and a circular plasmid, or linear on request), and
a small model trained on planted promoters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pygenome.io.genome import encode
from pygenome.io.motifs import Motif, write_meme
from pygenome.model.windows import GenomeInput
from pygenome.pipeline.simulate import SIGMA70, promoter_genome, random_sequence, write_fasta
from pygenome.steps.label import label
from pygenome.steps.train import configs, train

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


def write_sites(path, sites) -> Path:
    """A site table (``contig``, ``position``, ``strand``) as BED6: each site a 1-nt interval on its strand."""
    Path(path).write_text("".join(f"{c}\t{p}\t{p + 1}\ts\t0\t{s}\n"
                                  for c, p, s in zip(sites.contig, sites.position, sites.strand)))
    return Path(path)


def write_planted_database(path, description: str = "") -> Path:
    """Known motifs for tests: the planted sigma70 boxes (``planted_TTGACA``, ``planted_TATAAT``; 85 % consensus)
    among 40 random motifs (Tomtom's p-values need a few dozen targets), as MEME."""
    def sharp(word, p=0.85):
        matrix = np.full((len(word), 4), (1 - p) / 3)
        matrix[np.arange(len(word)), encode(word)] = p
        return matrix

    rng = np.random.default_rng(7)
    write_meme(path, [Motif(f"planted_{word}", sharp(word), description=description) for word in SIGMA70]
               + [Motif(f"random_{i}", rng.dirichlet(np.full(4, 0.5), size=rng.integers(6, 13))) for i in range(40)])
    return Path(path)


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A small model trained on planted promoters (TTGACA at -35..-30 and TATAAT at -12..-7 upstream of 300 sites,
    on both strands, of a 60 kb circular genome), and a second, rotated copy of the genome whose origin falls inside
    a + strand promoter (its -35 and -10 boxes lie before the origin, at the end of the sequence). The context (64)
    reaches both boxes from the output that scores a site (20 nt downstream)."""
    folder = tmp_path_factory.mktemp("trained")
    sequence, sites = promoter_genome(np.random.default_rng(3), 60_000, 300)
    fasta = write_fasta(folder / "g.fa", [("chrom", sequence, "circular")])
    label(fasta, folder, "g", sites=write_sites(folder / "sites.bed", sites), progress=False)
    settings = {"n_layers": 2, "n_heads": 4, "d_model": 16, "d_head": 8, "context": 64, "steps": 1000,
                "batch_size": 8, "segment_length": 64, "eval_every": 500, "checkpoint_every": 1000,
                "warmup_steps": 10, "learning_rate": 6e-3, "loss": "weighted_ce", "site_fraction": 0.3}
    model_config, train_config = configs("cpu", settings)
    train([GenomeInput("g", str(fasta), str(folder / "g.labels.track.npz"))], folder / "model", model_config,
          train_config, progress=False)
    site = sites[sites.strand == "+"].iloc[10]
    rotation = int(site.position) - 5  # the site lands at 5, its boxes (-35..-7) wrap to the end
    rotated = sequence[rotation:] + sequence[:rotation]
    rotated_fasta = write_fasta(folder / "rotated.fa", [("chrom", rotated, "circular")])
    rotated_sites = sites.assign(position=(sites.position - rotation) % 60_000)
    return {"folder": folder, "fasta": fasta, "labels": folder / "g.labels.track.npz", "sites": sites,
            "rotated": rotated_fasta, "rotated_sites": rotated_sites}


@pytest.fixture(scope="session")
def trained_cnn(trained, tmp_path_factory) -> Path:
    """A CNN (``--preset cnn``, 600 steps) trained by ``pygenome train`` on the planted genome of :func:`trained`: a
    folder holding it as ``model/``."""
    from pygenome.cli import main

    folder = tmp_path_factory.mktemp("cnn")
    assert main(["train", "--genome", "g", str(trained["fasta"]), str(trained["labels"]), "--preset", "cnn", "--set",
                 "steps=600", "eval_every=300", "--outdir", str(folder / "model"), "--quiet"]) == 0
    return folder
