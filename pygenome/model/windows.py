"""Training data: genomes and label tracks as strands read 5'→3', and windows drawn from them.

Every sequence a model sees is read 5'→3' on its own strand, so upstream is always to the left: the − strand of a
contig is its reverse complement, and its oriented position ``i`` is forward position ``length - 1 - i``. A window's
output at oriented position ``t`` is trained on the label at ``t - shift`` (the model sees ``shift`` nt downstream of
the site it labels).

Windows are drawn for a global batch from a generator seeded by ``(seed, step)``, and each process of a distributed
run takes its slice of that batch: the batches, and so the training, do not depend on the number of processes, and a
resumed run draws what the interrupted one would have drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pygenome.errors import InputError
from pygenome.io.genome import N_CODE, read_genome, reverse_complement, windows
from pygenome.io.tracks import check_same_genome, load_track
from pygenome.model.splits import SETS, set_mask

IGNORE = -1  # target of a position that is not trained on


@dataclass(frozen=True)
class GenomeInput:
    """One genome of a training run: an id, its FASTA and its label track (from ``pygenome label``)."""

    id: str
    fasta: str
    labels: str


@dataclass(frozen=True)
class Strand:
    """One strand of one contig, read 5'→3': ``codes``, ``labels`` (0/1) and ``sets`` (index into
    :data:`pygenome.model.splits.SETS`, -1 for none) are ``(length,)`` arrays in oriented coordinates."""

    genome: str
    contig: str
    strand: str
    circular: bool
    codes: np.ndarray
    labels: np.ndarray
    sets: np.ndarray

    @property
    def length(self) -> int:
        return self.codes.shape[0]

    def forward_positions(self, oriented: np.ndarray) -> np.ndarray:
        """Forward-strand coordinates of oriented positions."""
        return oriented if self.strand == "+" else self.length - 1 - oriented


def read_inputs(inputs: list[GenomeInput]) -> list[dict]:
    """Per genome: ``{"input", "genome", "track"}`` with the label track checked against the FASTA; the contigs
    trained on are those the track holds."""
    if len({g.id for g in inputs}) != len(inputs):
        raise InputError(f"genome ids must be unique: {[g.id for g in inputs]}")
    loaded = []
    for genome_input in inputs:
        if not Path(genome_input.labels).is_file():
            raise InputError(f"{genome_input.labels}: label track not found (make it with `pygenome label`)")
        track = load_track(genome_input.labels)
        if track.kind != "labels":
            raise InputError(f"{genome_input.labels}: a {track.kind!r} track, not the labels of `pygenome label` "
                             "(<prefix>.labels.track.npz)")
        genome = read_genome(genome_input.fasta)
        check_same_genome(track, genome, genome_input.labels)
        for name, labels in track.arrays.items():
            _check_labels(labels, name, genome_input.labels)
        loaded.append({"input": genome_input, "genome": genome, "track": track})
    positives = sum(int(labels.sum()) for entry in loaded for labels in entry["track"].arrays.values())
    positions = sum(labels.size for entry in loaded for labels in entry["track"].arrays.values())
    if positives == positions:
        raise InputError(f"every one of the {positions:,} positions of {', '.join(g.labels for g in inputs)} is "
                         "labelled 1: there is nothing to tell apart; check the label step's inputs (a BED of "
                         "intervals rather than sites?)")
    return loaded


def _check_labels(labels: np.ndarray, contig: str, path) -> None:
    """Labels are 0 or 1, on both strands."""
    bad = np.flatnonzero(~np.isin(labels, (0, 1)))
    if bad.size:
        strand, position = divmod(int(bad[0]), labels.shape[1])
        raise InputError(f"{path}: contig {contig!r}, {'+-'[strand]} strand, position {position}: label "
                         f"{labels.flat[bad[0]]} ({bad.size:,} position(s) hold a value other than 0 or 1); labels "
                         "are 0 or 1: re-create the track with `pygenome label`")


def strands(loaded: list[dict], regions: list[dict]) -> list[Strand]:
    """Both strands of every labelled contig of every genome, oriented 5'→3'."""
    result = []
    for entry in loaded:
        genome_id, genome, track = entry["input"].id, entry["genome"], entry["track"]
        for name, labels in track.arrays.items():
            circular = track.contig_info(name)["circular"]
            codes = genome.codes[name]
            sets = set_mask(regions, genome_id, name, codes.size)
            result.append(Strand(genome_id, name, "+", circular, codes, labels[0], sets))
            result.append(Strand(genome_id, name, "-", circular, reverse_complement(codes), labels[1][::-1].copy(),
                                 sets[::-1].copy()))
    return result


class WindowSampler:
    """Draws training windows: tokens ``(memory + length)`` and targets ``(length)`` per window.

    A window is placed over an anchor: a training position drawn uniformly from all strands, or, with probability
    ``site_fraction``, a training position labelled 1 (for labels as rare as TSS, 1 in 5,000 nt, this lets a short
    run see sites at all; the evaluation is always over every position, at the natural class balance). The anchor lies
    at a uniform offset in the window. Targets of positions outside the training set are :data:`IGNORE`, so held-out
    labels are never trained on (held-out sequence within ``memory + length`` nt of a boundary is seen as context).
    """

    def __init__(self, strand_list: list[Strand], length: int, memory: int, shift: int, site_fraction: float = 0.0):
        self.strands, self.length, self.memory, self.shift = strand_list, length, memory, shift
        self.site_fraction = site_fraction
        code = SETS.index("train")
        self.positions = [np.flatnonzero(s.sets == code) for s in strand_list]
        self.sites = [p[s.labels[p] > 0] for s, p in zip(strand_list, self.positions)]
        self.position_counts = np.cumsum([p.size for p in self.positions])
        self.site_counts = np.cumsum([p.size for p in self.sites])
        if self.position_counts[-1] == 0:
            raise InputError("no training positions: the split leaves the training set empty")
        if self.site_counts[-1] == 0:
            raise InputError("no positive labels in the training region of any genome: there is nothing to learn; "
                             "check the label track (pygenome label's QC) and the split")

    @property
    def n_sites(self) -> int:
        return int(self.site_counts[-1])

    def batch(self, seed: int, step: int, size: int, part: slice = slice(None)):
        """Windows ``part`` of the global batch of ``size`` for ``step``: ``(tokens, targets)`` as ``int64`` arrays
        of shape ``(n, memory + length)`` and ``(n, length)``."""
        rng = np.random.default_rng([seed, step])
        use_site = rng.random(size) < self.site_fraction
        draws = rng.random(size)
        offsets = rng.integers(0, self.length, size)
        tokens, targets = [], []
        for index in range(size)[part]:
            pools, counts = (self.sites, self.site_counts) if use_site[index] else (self.positions,
                                                                                    self.position_counts)
            flat = int(draws[index] * counts[-1])
            which = int(np.searchsorted(counts, flat, side="right"))
            before = counts[which - 1] if which else 0
            anchor = int(pools[which][flat - before])
            token_row, target_row = self.window(self.strands[which], anchor - int(offsets[index]))
            tokens.append(token_row)
            targets.append(target_row)
        return np.stack(tokens).astype(np.int64), np.stack(targets).astype(np.int64)

    def window(self, strand: Strand, first_label: int):
        """Tokens and targets of the window whose targets are the labels at ``first_label .. + length``."""
        output_start = first_label + self.shift
        tokens = windows(strand.codes, [output_start - self.memory], self.memory + self.length, strand.circular,
                         N_CODE)[0]
        labels = windows(strand.labels, [first_label], self.length, strand.circular, 0)[0].astype(np.int64)
        sets = windows(strand.sets, [first_label], self.length, strand.circular, -1)[0]
        labels[sets != SETS.index("train")] = IGNORE
        return tokens, labels
