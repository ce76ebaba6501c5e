"""Held-out regions: which stretches of each genome train, validate and test a model.

A split is a list of regions ``{"genome", "contig", "start", "end", "set"}`` (0-based, half-open, forward
coordinates); each region covers both strands, so no held-out nucleotide is trained on from either side. Splits are
deterministic from their seed and are saved with the model, where evaluation finds them.

- ``fraction`` (the paper's): every contig is cut into three contiguous parts, test, validation and train, in that
  order from an offset drawn from the seed, with the given fractions of its length (wrapping around the end: on a
  circular contig the parts are arcs, on a linear one a part may come in two pieces).
- ``contig``: whole contigs, longest first (lengths jittered by the seed), each to the set furthest below its share
  of the genome's length; for genomes of many contigs (draft assemblies).
- ``auto``: ``contig`` for a genome of at least 20 contigs none of which holds 10 % of its length, ``fraction``
  otherwise (a complete genome with many small plasmids is split within each contig).
"""

from __future__ import annotations

import hashlib

import numpy as np

from pygenome.errors import InputError

SETS = ("train", "validation", "test")
MODES = ("auto", "fraction", "contig")
CONTIG_SPLIT_MIN_CONTIGS = 20
CONTIG_SPLIT_MAX_SHARE = 0.1  # auto splits by contig only when no contig holds this much of the genome


def split_genome(genome_id: str, contigs: list[dict], fractions=(0.7, 0.1, 0.2), seed: int = 0,
                 mode: str = "auto") -> list[dict]:
    """The regions of one genome; ``contigs`` are ``{"name", "length"}`` dicts, ``fractions`` those of train,
    validation and test."""
    if mode not in MODES:
        raise InputError(f"split mode must be one of {', '.join(MODES)}, not {mode!r}")
    fractions = np.asarray(fractions, dtype=float)
    if fractions.shape != (3,) or (fractions < 0).any() or not np.isclose(fractions.sum(), 1) or \
            not fractions[0] > 0 or not fractions[1] > 0:
        raise InputError(f"split fractions (train, validation, test) must be 3 non-negative numbers summing to 1, "
                         f"with some training and some validation (it selects the model); got {fractions.tolist()}")
    rng = np.random.default_rng([seed, _stable_hash(genome_id)])
    lengths = [c["length"] for c in contigs]
    if mode == "contig" or (mode == "auto" and len(contigs) >= CONTIG_SPLIT_MIN_CONTIGS
                            and max(lengths) < CONTIG_SPLIT_MAX_SHARE * sum(lengths)):
        return _by_contig(genome_id, contigs, fractions, rng)
    regions = []
    for contig in contigs:
        length = contig["length"]
        offset = int(rng.integers(length))
        bounds = np.round(np.cumsum([0, fractions[2], fractions[1], fractions[0]]) * length).astype(int)
        for name, start, end in zip(("test", "validation", "train"), bounds[:-1], bounds[1:]):
            for piece_start, piece_end in _wrapped(offset + int(start), offset + int(end), length):
                regions.append({"genome": genome_id, "contig": contig["name"], "start": piece_start,
                                "end": piece_end, "set": name})
    return sorted(regions, key=lambda r: ([c["name"] for c in contigs].index(r["contig"]), r["start"]))


def _by_contig(genome_id, contigs, fractions, rng) -> list[dict]:
    """Whole contigs, longest first (lengths jittered by the seed, so seeds give different splits), each to the set
    furthest below its share of the genome's length."""
    total = sum(c["length"] for c in contigs)
    targets = dict(zip(SETS, fractions * total))
    filled = dict.fromkeys(SETS, 0)
    regions = []
    jittered = np.array([c["length"] for c in contigs]) * rng.uniform(0.5, 1.5, len(contigs))
    for index in np.argsort(-jittered, kind="stable"):
        contig = contigs[index]
        name = max(SETS, key=lambda s: (targets[s] - filled[s], -SETS.index(s)))
        filled[name] += contig["length"]
        regions.append({"genome": genome_id, "contig": contig["name"], "start": 0, "end": contig["length"],
                        "set": name})
    if not filled["train"]:
        raise InputError(f"{genome_id}: splitting by contig left no training contig; use split_mode fraction")
    return sorted(regions, key=lambda r: [c["name"] for c in contigs].index(r["contig"]))


def _wrapped(start: int, end: int, length: int) -> list[tuple[int, int]]:
    """``start..end`` (at most ``length`` long, ``start`` possibly past the end) on a contig of ``length``, as one or
    two in-range pieces; none when empty."""
    size = end - start
    start %= length
    if size <= 0:
        return []
    if start + size <= length:
        return [(start, start + size)]
    return [(start, length), (0, start + size - length)]


def _stable_hash(text: str) -> int:
    """A hash of ``text`` that does not change between Python processes (unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def set_mask(regions: list[dict], genome_id: str, contig: str, length: int) -> np.ndarray:
    """Per position of one contig, the index of its set in :data:`SETS` (``int8``, shape ``(length,)``); -1 where no
    region covers it."""
    mask = np.full(length, -1, dtype=np.int8)
    for region in regions:
        if region["genome"] == genome_id and region["contig"] == contig:
            mask[region["start"]:region["end"]] = SETS.index(region["set"])
    return mask
