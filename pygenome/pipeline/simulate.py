"""Synthetic data with a known answer: random genomes, planted sites, and TSS-seq alignments written with pysam.

Used by the tests and the demo; every function is deterministic given its ``numpy.random.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

from pygenome.io.genome import decode


@dataclass(frozen=True)
class Read:
    """One alignment: ``start`` is the 0-based leftmost aligned base, ``cigar`` a CIGAR string, ``flag`` the SAM flag
    (0x10 for the reverse strand)."""

    name: str
    contig: str
    start: int
    cigar: str
    flag: int = 0
    mapq: int = 60


def random_sequence(length: int, rng: np.random.Generator, gc: float = 0.5) -> str:
    """A random sequence of ``length`` nt with GC fraction ``gc``."""
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return decode(rng.choice(4, size=length, p=p).astype(np.uint8))


def write_fasta(path, records, width: int = 60) -> Path:
    """Write ``(name, sequence, topology)`` records; topology ("circular"/"linear"/None) goes in the header as NCBI
    writes it. A path ending in ``.gz`` is bgzip-compressed."""
    path = Path(path)
    lines = []
    for name, sequence, topology in records:
        lines.append(f">{name}" + (f" [topology={topology}]" if topology else "") + "\n")
        lines.extend(sequence[i:i + width] + "\n" for i in range(0, len(sequence), width))
    text = "".join(lines)
    if path.suffix == ".gz":
        plain = path.with_name(f".{path.name}.plain")
        plain.write_text(text)
        pysam.tabix_compress(str(plain), str(path), force=True)
        plain.unlink()
    else:
        path.write_text(text)
    return path


def write_bam(path, contigs: dict[str, str], reads, sort: bool = True, index: bool = True) -> Path:
    """Write ``reads`` (:class:`Read`) against ``contigs`` (name → sequence) as a BAM.

    Query sequences are the reference bases under the alignment (``N`` for clipped and inserted bases), in forward
    orientation as SAM stores them. With ``sort`` the reads are sorted by coordinate (header ``SO:coordinate``)
    and, with ``index``, indexed.
    """
    path = Path(path)
    names = list(contigs)
    header = {"HD": {"VN": "1.6", "SO": "coordinate" if sort else "unsorted"},
              "SQ": [{"SN": name, "LN": len(sequence)} for name, sequence in contigs.items()]}
    if sort:
        reads = sorted(reads, key=lambda r: (names.index(r.contig), r.start, r.name))
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for read in reads:
            segment = pysam.AlignedSegment(out.header)
            segment.query_name = read.name
            segment.flag = read.flag
            segment.reference_id = names.index(read.contig)
            segment.reference_start = read.start
            segment.mapping_quality = read.mapq
            segment.cigarstring = read.cigar
            segment.query_sequence = _query(contigs[read.contig], read.start, segment.cigartuples)
            segment.query_qualities = pysam.qualitystring_to_array("I" * len(segment.query_sequence))
            out.write(segment)
    if sort and index:
        pysam.index(str(path))
    return path


def _query(reference: str, start: int, cigar) -> str:
    parts, position = [], start
    for op, size in cigar:
        if op in (0, 7, 8):  # M, =, X: reference bases (wrapping for reads past the end of a circular contig)
            parts.append((reference * 2)[position % len(reference):][:size] if position + size > len(reference)
                         else reference[position:position + size])
            position += size
        elif op in (1, 4):  # I, S
            parts.append("N" * size)
        elif op in (2, 3):  # D, N
            position += size
    return "".join(parts)


def tss_reads(sites, contigs: dict[str, str], reads_per_site, read_length: int, rng: np.random.Generator,
              prefix: str = "read") -> list[Read]:
    """Single-end sense reads whose 5' ends lie on the given sites (rows with ``contig``, ``position``,
    ``strand``); ``reads_per_site`` is one number or one per site. Reads that would run off a contig end are
    soft-clipped there."""
    counts = np.broadcast_to(np.asarray(reads_per_site), (len(sites),))
    reads = []
    for (contig, position, strand), count in zip(sites[["contig", "position", "strand"]].itertuples(index=False),
                                                 counts):
        length = len(contigs[contig])
        for _ in range(int(count)):
            if strand == "+":
                aligned = min(read_length, length - position)
                cigar = f"{aligned}M" + (f"{read_length - aligned}S" if aligned < read_length else "")
                reads.append(Read(f"{prefix}{len(reads)}", contig, int(position), cigar, 0))
            else:
                aligned = min(read_length, position + 1)
                cigar = (f"{read_length - aligned}S" if aligned < read_length else "") + f"{aligned}M"
                reads.append(Read(f"{prefix}{len(reads)}", contig, int(position) - aligned + 1, cigar, 0x10))
    return reads


def tss_seq_libraries(sites, contigs: dict[str, str], rng: np.random.Generator, reads_per_site: float = 20,
                      depletion: float = 0.1, processed_sites: int = 500, background_reads: int = 50_000,
                      read_length: int = 50) -> tuple[list[Read], list[Read], "object"]:
    """A treated and a control library of a dRNA-seq-like experiment (as TEX+ and TEX− are).

    Primary TSS (``sites``) get Poisson(``reads_per_site``) reads in the treated library and ``depletion`` times as
    many in the control; ``processed_sites`` random positions (processed 5' ends) get Poisson(``reads_per_site``)
    reads in both; and ``background_reads`` 5' ends fall uniformly on both strands of each library. Returns
    ``(treated, control, processed)``, the last the table of processed sites.
    """
    import pandas as pd

    names = list(contigs)
    weights = np.array([len(contigs[n]) for n in names], dtype=float)
    picks = rng.choice(len(names), size=processed_sites, p=weights / weights.sum())
    processed = pd.DataFrame({"contig": [names[i] for i in picks],
                              "position": [int(rng.integers(len(contigs[names[i]]))) for i in picks],
                              "strand": rng.choice(["+", "-"], processed_sites)})
    libraries = []
    for label, tss_mean in (("treated", reads_per_site), ("control", reads_per_site * depletion)):
        picks = rng.choice(len(names), size=background_reads, p=weights / weights.sum())
        background = pd.DataFrame({"contig": [names[i] for i in picks],
                                   "position": [int(rng.integers(len(contigs[names[i]]))) for i in picks],
                                   "strand": rng.choice(["+", "-"], background_reads)})
        reads = (tss_reads(sites, contigs, rng.poisson(tss_mean, len(sites)), read_length, rng, f"{label}_tss")
                 + tss_reads(processed, contigs, rng.poisson(reads_per_site, processed_sites), read_length, rng,
                             f"{label}_processed")
                 + tss_reads(background, contigs, 1, read_length, rng, f"{label}_background"))
        libraries.append(reads)
    return libraries[0], libraries[1], processed


SIGMA70 = {"TTGACA": -35, "TATAAT": -12}  # motif → offset of its 5' base from the TSS (the -35 and -10 boxes)


def promoter_genome(rng: np.random.Generator, length: int, n_sites: int, motifs: dict[str, int] = SIGMA70,
                    spacing: int = 120, gc: float = 0.5):
    """A random sequence of GC fraction ``gc`` with ``n_sites`` sites on both strands, each with ``motifs``
    planted at fixed offsets upstream of it on its own strand. Returns ``(sequence, sites)``, sites a table of
    ``contig`` ("chrom"), ``position`` and ``strand``, at least ``spacing`` nt apart and clear of the ends."""
    import pandas as pd

    from pygenome.io.genome import encode, reverse_complement

    codes = encode(random_sequence(length, rng, gc)).copy()
    slots = rng.choice(np.arange(spacing, length - spacing, spacing), size=n_sites, replace=False)
    strands = rng.choice(["+", "-"], size=n_sites)
    for position, strand in zip(slots, strands):
        for motif, offset in motifs.items():
            motif_codes = encode(motif)
            if strand == "+":
                start = position + offset
                codes[start:start + len(motif)] = motif_codes
            else:
                end = position - offset + 1
                codes[end - len(motif):end] = reverse_complement(motif_codes)
    sites = pd.DataFrame({"contig": "chrom", "position": slots.astype(int), "strand": strands})
    return decode(codes), sites.sort_values("position").reset_index(drop=True)
