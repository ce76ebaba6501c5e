"""Synthetic data with a known answer: random genomes, planted sites, and TSS-seq alignments written with pysam.

Used by the tests and the demo; every function is deterministic given its ``numpy.random.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

from pygenome.genome import decode


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
            parts.append("".join(reference[(position + i) % len(reference)] for i in range(size)))
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
