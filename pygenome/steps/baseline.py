"""The baseline step: a plain scan for the sigma70 -10 box, the score a TSS model has to beat.

For each position ``p`` of each strand the score is the best position-weight-matrix score of the matrix placed with
its first column anywhere at ``p + start`` … ``p + end`` (the ``offsets``; -14 … -9 by default, upstream), reading
the strand 5'→3': the − strand is read on the reverse complement and written back at forward coordinates, as every
pygenome track is. Circular contigs wrap around the origin; off the ends of a linear contig the sequence reads as N.

The weights are log-odds in bits, ``log2(probability / background)``, against the genome's base composition over both
strands (A = T and C = G; one count added to each base). The probabilities are, by default, the consensus TATAAT
with 0.7 on the consensus base and 0.1 on each other one (:data:`DEFAULT_CONSENSUS`, :data:`CONSENSUS_PROBABILITY`),
or a motif of a MEME or TRANSFAC file, with a pseudocount of :data:`PSEUDOCOUNT` (spread as the background) that
keeps a zero probability finite. An N scores the lowest weight of its column, so a placement over an N never
outscores one with any base there.

Output: ``<prefix>.scores.track.npz``, a track of kind "scores" (``float32``, bits) as ``pygenome predict`` writes,
so ``pygenome evaluate`` reads it (as predictions or beside them with ``--baseline``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.interpret.composition import base_composition, log_odds
from pygenome.interpret.enrichment import placement_scores
from pygenome.io.genome import Genome, encode, read_genome, reverse_complement, windows
from pygenome.io.layout import output
from pygenome.io.motifs import motif_matrix
from pygenome.io.tracks import Track, genome_meta, save_track

DEFAULT_CONSENSUS = "TATAAT"  # the sigma70 -10 box
CONSENSUS_PROBABILITY = 0.7  # on the consensus base; the other three share the rest equally
DEFAULT_OFFSETS = (-14, -9)  # first column of the matrix, nt from the site on its strand (negative: upstream)
PSEUDOCOUNT = 0.01  # in probability units, spread as the background


def consensus_matrix(word: str = DEFAULT_CONSENSUS, probability: float = CONSENSUS_PROBABILITY) -> np.ndarray:
    """Probabilities ``(len(word), 4)`` (A, C, G, T): ``probability`` on each consensus base, the rest shared equally
    by the other three."""
    matrix = np.full((len(word), 4), (1 - probability) / 3)
    matrix[np.arange(len(word)), encode(word)] = probability
    return matrix


def pwm_scan(genome: Genome, weights: np.ndarray, offsets=DEFAULT_OFFSETS) -> dict[str, np.ndarray]:
    """The best score of ``weights`` ``(width, 4)`` (bits) placed with its first column at ``p + offsets[0]`` …
    ``p + offsets[1]`` upstream of every position ``p`` on its strand: ``{contig: (2, length) float32}``, row 0 the
    + strand and row 1 the − strand, both at forward coordinates."""
    start, end = (int(offset) for offset in offsets)
    if start > end:
        raise InputError(f"offsets {start} {end}: the first must not exceed the second (e.g. --offsets -14 -9)")
    weights = np.asarray(weights, dtype=np.float64)
    padded = np.hstack([weights, weights.min(axis=1, keepdims=True)])  # (width, 5): an N scores the column's lowest
    scores = {}
    for contig in genome.contigs:
        codes = genome.codes[contig.name]
        plus = _strand_scan(codes, padded, start, end, contig.circular)
        minus = _strand_scan(reverse_complement(codes), padded, start, end, contig.circular)[::-1]
        scores[contig.name] = np.stack([plus, minus]).astype(np.float32)
    return scores


def baseline(fasta, outdir, prefix: str, topology: str = "auto", motif=None, motif_name: str | None = None,
             offsets=DEFAULT_OFFSETS) -> Path:
    """Scan the genome of ``fasta`` (see the module) and write ``<outdir>/<prefix>.scores.track.npz``; returns its
    path. ``motif`` and ``motif_name``: a MEME or TRANSFAC file and the motif in it to scan for, instead of the
    default TATAAT matrix."""
    if (motif is None) != (motif_name is None):
        raise InputError("a motif file (--motif) and the name of the motif in it (--motif-name) go together")
    genome = read_genome(fasta, topology)
    matrix = consensus_matrix() if motif is None else motif_matrix(motif, motif_name)
    background = base_composition(genome.codes.values(), pseudocount=1)
    weights = log_odds(matrix, background, PSEUDOCOUNT)
    producer = {"step": "baseline", "pygenome": __version__, "parameters": {
        "fasta": Path(fasta).name, "topology": topology,
        "matrix": f"{DEFAULT_CONSENSUS}, {CONSENSUS_PROBABILITY} on the consensus base" if motif is None
        else f"{motif_name} of {Path(motif).name}",
        "offsets": [int(offset) for offset in offsets], "pseudocount": PSEUDOCOUNT,
        "background": [round(float(value), 6) for value in background],
        "weights_bits": np.round(weights, 6).tolist()}}
    path = output("baseline", "scores").path(outdir, prefix)
    save_track(path, Track("scores", genome_meta(genome), pwm_scan(genome, weights, offsets), producer))
    return path


def _strand_scan(codes: np.ndarray, padded: np.ndarray, start: int, end: int, circular: bool) -> np.ndarray:
    """Scores ``(length,)`` of one strand read 5'→3' (``codes``), ``padded`` the ``(width, 5)`` weights."""
    width, length, span = padded.shape[0], codes.size, end - start + 1
    extended = windows(codes, [start], length + span - 1 + width - 1, circular)[0]  # from position ``start`` on
    placements = length + span - 1  # the placement at index i starts at position start + i
    sums = placement_scores(padded, extended, placements)
    best = sums[:length].copy()
    for shift in range(1, span):
        np.maximum(best, sums[shift:shift + length], out=best)
    return best
