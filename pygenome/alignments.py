"""Alignments (BAM/CRAM, through pysam) → per-nucleotide, per-strand read signal.

Signals, per position of the forward strand and per transcript strand:

- ``five_prime``: reads whose 5' end (first sequenced base) lies there: the TSS signal of dRNA-seq, Cappable-seq
  and other 5'-end RNA-seq;
- ``three_prime``: reads whose 3' end lies there;
- ``coverage``: reads whose aligned bases (CIGAR M, =, X) cover it; deletions and skips are not counted.

By default the end of a read is its first (or last) aligned base; ``unclipped`` moves it over soft- and hard-clipped
bases to where the sequenced end lies (Picard's unclipped start and end). On a circular contig positions past either
end wrap around the origin, so a read that spans the origin (aligned with its 5' end clipped, as minimap2 does) is
counted where it starts; on a linear contig such reads are dropped as ``off_contig``.

The transcript strand is the strand of read 1 for ``forward`` libraries (dRNA-seq, Cappable-seq: read 1 is the RNA
sense) and the opposite one for ``reverse`` libraries (dUTP). For paired reads only the mate given by ``mate`` is
counted (its own 5' end, its strand corrected for being read 2). ``unstranded`` libraries give the summed signal of both
orientations on both rows.
"""

from __future__ import annotations

import collections
import concurrent.futures
import multiprocessing
from array import array
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pysam
from tqdm import tqdm

from pygenome.errors import InputError
from pygenome.genome import Genome

SIGNALS = ("five_prime", "three_prime", "coverage")
STRANDEDNESS = ("forward", "reverse", "unstranded")

_FLAG_PAIRED, _FLAG_UNMAPPED, _FLAG_REVERSE, _FLAG_READ1, _FLAG_READ2 = 0x1, 0x4, 0x10, 0x40, 0x80
_FLAG_REASONS = (  # flag bit → reason a read with it is dropped, in the order reasons are assigned
    (0x4, "unmapped"), (0x100, "secondary"), (0x800, "supplementary"), (0x400, "duplicate"), (0x200, "qc_fail"),
)
_CLIPS = (4, 5)  # CIGAR soft and hard clip


@dataclass(frozen=True)
class ReadOptions:
    """Which reads count and how: every field is a ``pygenome label`` option of the same name."""

    signal: str = "five_prime"
    strandedness: str = "forward"
    mate: int = 1
    min_mapq: int = 0
    unclipped: bool = False
    keep_secondary: bool = False
    keep_supplementary: bool = False
    keep_duplicates: bool = False
    keep_qc_fail: bool = False

    def __post_init__(self):
        if self.signal not in SIGNALS:
            raise InputError(f"signal must be one of {', '.join(SIGNALS)}, not {self.signal!r}")
        if self.strandedness not in STRANDEDNESS:
            raise InputError(f"strandedness must be one of {', '.join(STRANDEDNESS)}, not {self.strandedness!r}")
        if self.mate not in (1, 2):
            raise InputError(f"mate must be 1 or 2, not {self.mate!r}")

    @property
    def drop_mask(self) -> int:
        kept = {"secondary": self.keep_secondary, "supplementary": self.keep_supplementary,
                "duplicate": self.keep_duplicates, "qc_fail": self.keep_qc_fail}
        return sum(bit for bit, reason in _FLAG_REASONS if not kept.get(reason, False))

    def as_dict(self) -> dict:
        return asdict(self)


def open_alignments(path: str | Path, genome: Genome, build_index: bool = False, threads: int = 1):
    """Open a coordinate-sorted, indexed BAM or CRAM and check it against the genome.

    Raises :class:`InputError` for a missing file, a file that is no BAM/CRAM, a truncated file, a file not sorted by
    coordinate, a missing index (built instead when ``build_index``), and a header whose contigs are absent from the
    genome or have other lengths.
    """
    path = str(path)
    if not Path(path).is_file():
        raise InputError(f"{path}: alignment file not found")
    alignments = _open(path, genome, threads)
    try:
        _check_alignments(alignments, path, genome)
        indexed = alignments.has_index()
    except BaseException:
        alignments.close()
        raise
    if indexed:
        return alignments
    alignments.close()
    if not build_index:
        raise InputError(f"{path}: no index (.bai/.csi/.crai) found; create it with `samtools index {path}`, "
                         "or pass --build-index to let pygenome build it")
    try:
        pysam.index(path)
    except pysam.SamtoolsError as error:
        raise InputError(f"{path}: cannot build its index ({error}); is it sorted by coordinate?")
    return _open(path, genome, threads)


def _open(path: str, genome: Genome, threads: int):
    try:
        return pysam.AlignmentFile(path, "r", reference_filename=genome.path, threads=threads)
    except (OSError, ValueError) as error:
        if "truncated" in str(error):
            raise InputError(f"{path}: truncated ({error}): the file is incomplete; copy or create it again")
        raise InputError(f"{path}: cannot open as BAM or CRAM ({error}); for a CRAM, the genome FASTA must be "
                         "plain or bgzip-compressed with a .fai index (samtools faidx)")


def _check_alignments(alignments, path: str, genome: Genome) -> None:
    if not (alignments.is_bam or alignments.is_cram):
        raise InputError(f"{path}: is {alignments.format}, not BAM or CRAM; convert it with "
                         f"`samtools sort -o {Path(path).stem}.bam {path}` and index it")
    sort_order = alignments.header.to_dict().get("HD", {}).get("SO", "unknown")
    if sort_order in ("unsorted", "queryname"):
        raise InputError(f"{path}: sorted by {sort_order}, not by coordinate; sort and index it: "
                         f"`samtools sort -o sorted.bam {path} && samtools index sorted.bam`")
    lengths = {contig.name: contig.length for contig in genome.contigs}
    for name, length in zip(alignments.references, alignments.lengths):
        if name not in lengths:
            raise InputError(f"{path}: contig {name!r} of the alignment header is not in the genome {genome.path}; "
                             "align the reads to this genome, or give the genome they were aligned to")
        if lengths[name] != length:
            raise InputError(f"{path}: contig {name!r} is {length} nt in the alignment header but "
                             f"{lengths[name]} nt in {genome.path}; the reads were aligned to another assembly")


def count_signal(alignments, genome: Genome, contig_names, options: ReadOptions, workers: int = 1,
                 progress: bool = True, region_size: int = 1_000_000):
    """Count the signal of ``options.signal`` on each named contig of an alignment file opened by
    :func:`open_alignments`.

    Each contig is read in regions of ``region_size`` nt (a read belongs to the region that holds its leftmost aligned
    base), by ``workers`` processes at once; the result does not depend on either. Returns ``(arrays, stats)``:
    ``arrays[name]`` has shape ``(2, length)``, ``int32`` (row 0: + strand, row 1: − strand); ``stats[name]`` counts
    reads ``seen`` (records the index places on the contig), ``used``, and ``dropped`` by reason.
    """
    path = alignments.filename.decode()
    jobs = []
    for name in contig_names:
        contig = genome.contig(name)
        if name not in alignments.references:
            raise InputError(f"{path}: contig {name!r} is not in the alignment header")
        for start in range(0, contig.length, region_size):
            end = min(start + region_size, contig.length)
            jobs.append((path, genome.path, name, start, end, contig.length, contig.circular, options))
    total = sum(job[4] - job[3] for job in jobs)
    parts = collections.defaultdict(list)
    with tqdm(total=total, desc="reading alignments", unit="nt", unit_scale=True, disable=not progress,
              mininterval=1.0) as bar:
        for job, part in zip(jobs, _map(_count_region, jobs, workers)):
            parts[job[2]].append(part)
            bar.update(job[4] - job[3])
    arrays, stats = {}, {}
    for name in contig_names:
        contig = genome.contig(name)
        arrays[name] = _signal(parts[name], contig.length, contig.circular, options)
        stats[name] = _merge_stats(parts[name])
    return arrays, stats


def _map(function, jobs, workers: int):
    """``map(function, jobs)`` in order, by ``workers`` processes when there is more than one (and more than one job)."""
    if workers <= 1 or len(jobs) <= 1:
        yield from map(function, jobs)
        return
    context = multiprocessing.get_context("forkserver")
    with concurrent.futures.ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        yield from pool.map(function, jobs)


def _count_region(job):
    """Read positions of the reads whose leftmost aligned base lies in ``start..end`` of one contig.

    Returns ``(plus, minus, seen, used, dropped)``: per transcript strand an ``int64`` array of read ends (or of
    interleaved coverage block starts and ends), and the read counts of this region.
    """
    path, fasta, name, region_start, region_end, length, circular, options = job
    drop_mask = options.drop_mask
    mate_bit = _FLAG_READ1 if options.mate == 1 else _FLAG_READ2
    flip = options.strandedness == "reverse"
    three_prime = options.signal == "three_prime"
    coverage = options.signal == "coverage"
    unclipped, min_mapq = options.unclipped, options.min_mapq
    positions = (array("q"), array("q"))
    dropped = collections.Counter()
    seen = used = 0
    last_start = region_start
    with pysam.AlignmentFile(path, "r", reference_filename=fasta) as alignments:
        try:
            for read in alignments.fetch(name, region_start, region_end):
                start = read.reference_start
                if start < last_start:
                    if start < region_start:  # begins in an earlier region, which counts it
                        continue
                    raise InputError(f"{path}: read {read.query_name} at {name}:{start + 1} follows one at "
                                     f"{last_start + 1}: not sorted by coordinate; sort and index it")
                last_start = start
                seen += 1
                flag = read.flag
                if flag & drop_mask:
                    dropped[_flag_reason(flag & drop_mask)] += 1
                    continue
                if flag & _FLAG_PAIRED and not flag & mate_bit:
                    dropped["other_mate"] += 1
                    continue
                if read.mapping_quality < min_mapq:
                    dropped["low_mapq"] += 1
                    continue
                reverse = bool(flag & _FLAG_REVERSE)
                minus = reverse ^ flip ^ bool(flag & _FLAG_READ2)
                if coverage:
                    for block in read.get_blocks():
                        positions[minus].extend(block)
                else:
                    if reverse != three_prime:  # the end that lies at the right of the alignment
                        end = read.reference_end - 1
                        if unclipped:
                            end += _clipped(read.cigartuples, -1)
                    else:
                        end = start
                        if unclipped:
                            end -= _clipped(read.cigartuples, 0)
                    if not circular and not 0 <= end < length:
                        dropped["off_contig"] += 1
                        continue
                    positions[minus].append(end)
                used += 1
        except OSError as error:
            raise InputError(f"{path}: cannot read alignments on {name} ({error}); the file is truncated or corrupt")
    plus, minus = (np.frombuffer(row, np.int64) if len(row) else np.zeros(0, np.int64) for row in positions)
    return plus, minus, seen, used, dropped


def _signal(parts, length: int, circular: bool, options: ReadOptions) -> np.ndarray:
    """The ``(2, length)`` ``int32`` signal from the regions' read positions."""
    rows = []
    for strand in (0, 1):
        values = np.concatenate([part[strand] for part in parts])
        if options.signal == "coverage":
            rows.append(_coverage(values, length, circular))
        else:
            rows.append(np.bincount(values % length, minlength=length).astype(np.int32))
    signal = np.stack(rows)
    if options.strandedness == "unstranded":
        signal[:] = signal.sum(axis=0)
    return signal


def _merge_stats(parts) -> dict:
    dropped = collections.Counter()
    for part in parts:
        dropped.update(part[4])
    return {"seen": sum(part[2] for part in parts), "used": sum(part[3] for part in parts),
            "dropped": dict(sorted(dropped.items())), "dropped_total": sum(dropped.values())}


def _flag_reason(flag: int) -> str:
    return next(reason for bit, reason in _FLAG_REASONS if flag & bit)


def _clipped(cigar, index: int) -> int:
    """Bases clipped (soft or hard) at one end of a CIGAR: index 0 for the left end, -1 for the right."""
    total = 0
    ops = cigar if index == 0 else reversed(cigar)
    for op, size in ops:
        if op not in _CLIPS:
            break
        total += size
    return total


def _coverage(bounds: np.ndarray, length: int, circular: bool) -> np.ndarray:
    """Depth from interleaved block ``start, end`` pairs: shape ``(length,)``, ``int32``."""
    pairs = bounds.reshape(-1, 2)
    starts, ends = pairs[:, 0], pairs[:, 1]
    if circular:  # blocks past the end continue at the origin
        past = ends > length
        starts = np.concatenate((starts, np.zeros(past.sum(), np.int64)))
        ends = np.concatenate((np.minimum(ends, length), ends[past] - length))
    else:
        ends = np.minimum(ends, length)
    delta = np.bincount(starts, minlength=length + 1) - np.bincount(ends, minlength=length + 1)
    return np.cumsum(delta[:length]).astype(np.int32)


def library_size(stats: dict) -> int:
    """Reads used over all contigs of ``count_signal``'s stats."""
    return sum(contig["used"] for contig in stats.values())
