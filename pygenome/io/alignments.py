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

import concurrent.futures
import multiprocessing
from array import array
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pysam
from tqdm import tqdm

from pygenome.errors import InputError
from pygenome.io.bam import Columns, bai_path, contig_offsets, read_columns
from pygenome.io.genome import Genome

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
        if self.min_mapq < 0:
            raise InputError(f"min_mapq must be 0 or more, not {self.min_mapq}")

    @property
    def drop_mask(self) -> int:
        kept = {"secondary": self.keep_secondary, "supplementary": self.keep_supplementary,
                "duplicate": self.keep_duplicates, "qc_fail": self.keep_qc_fail}
        return sum(bit for bit, reason in _FLAG_REASONS if not kept.get(reason, False))

    def as_dict(self) -> dict:
        return asdict(self)


def open_alignments(path: str | Path, genome: Genome, build_index: bool = False, threads: int = 1,
                    notes: list | None = None):
    """Open a coordinate-sorted, indexed BAM or CRAM and check it against the genome.

    Raises :class:`InputError` for a missing file, a file that is no BAM/CRAM, a truncated file, a file sorted by
    read name, a missing index (built instead when ``build_index``, beside the file, which ``notes`` is told), and a
    header whose contigs are absent from the genome or have other lengths. A header saying ``SO:unsorted`` (or
    nothing) is accepted: an index can only be made of sorted records, and records out of order are refused as they
    are read.
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
    unsorted = alignments.header.to_dict().get("HD", {}).get("SO") == "unsorted"
    alignments.close()
    if unsorted:
        raise InputError(f"{path}: sorted by unsorted, not by coordinate (its header says), and not indexed; sort and "
                         f"index it: `samtools sort -o sorted.bam {path} && samtools index sorted.bam`")
    if not build_index:
        raise InputError(f"{path}: no index (.bai/.csi/.crai) found; create it with `samtools index {path}`, "
                         "or pass --build-index to let pygenome build it")
    try:
        pysam.index(path)
    except pysam.SamtoolsError as error:
        raise InputError(f"{path}: cannot build its index beside it ({str(error).strip()}); is it sorted by "
                         "coordinate, and is its folder writable? Else index a copy: `samtools index`") from error
    if notes is not None:
        notes.append(f"{path}: had no index; --build-index wrote one beside it")
    return _open(path, genome, threads)


def _open(path: str, genome: Genome, threads: int):
    """The alignment file; a CRAM is decoded against the genome FASTA, which must then be plain or bgzip."""
    try:
        alignments = pysam.AlignmentFile(path, "r", threads=threads)
        if alignments.is_cram:
            alignments.close()
            if _plain_gzip(genome.path):
                raise InputError(f"{path}: a CRAM is decoded against the genome, and {genome.path} is gzip-compressed; "
                                 f"give it plain or bgzip-compressed (`zcat {genome.path} | bgzip > genome.fa.gz`)")
            alignments = pysam.AlignmentFile(path, "r", reference_filename=genome.path, threads=threads)
        return alignments
    except (OSError, ValueError) as error:
        if "truncated" in str(error):
            raise InputError(f"{path}: truncated ({error}): the file is incomplete; copy or create it again") from error
        raise InputError(f"{path}: cannot open as BAM or CRAM ({error}); for a CRAM, the genome FASTA must be "
                         "plain or bgzip-compressed with a .fai index (samtools faidx)") from error


def _plain_gzip(path: str) -> bool:
    """Gzip without BGZF's extra field (which htslib cannot index)."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    return head[:2] == b"\x1f\x8b" and not head[3] & 0x04


def mapped_reads(alignments, mate: int = 1) -> int:
    """The library size: mapped reads (records without flag 4) over the whole file, counting of paired reads only
    the ``mate`` counted as the signal. From a single-end BAM's index; counted record by record for a CRAM (whose
    index keeps no counts: pysam reports zeros) and a paired library (whose index counts both mates), so a CRAM and
    the BAM it came from, and a paired and a single-end library, are normalised alike."""
    if alignments.is_cram or _paired(alignments):
        def counted(read) -> bool:
            return not read.is_unmapped and (not read.is_paired or read.is_read1 == (mate == 1))
        return sum(alignments.count(contig=name, read_callback=counted) for name in alignments.references)
    return sum(_indexed_records(alignments, "mapped").values())


def _paired(alignments, records: int = 1000) -> bool:
    """Whether any of the first ``records`` records is one of a pair."""
    return any(read.is_paired for read in alignments.head(records))


def _check_alignments(alignments, path: str, genome: Genome) -> None:
    if not (alignments.is_bam or alignments.is_cram):
        raise InputError(f"{path}: is {alignments.format}, not BAM or CRAM; convert it with "
                         f"`samtools sort -o {Path(path).stem}.bam {path}` and index it")
    sort_order = alignments.header.to_dict().get("HD", {}).get("SO", "unknown")
    if sort_order == "queryname":
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

    A BAM with a ``.bai`` index is read by :mod:`pygenome.io.bam` with ``workers`` threads inflating it, for the end
    signals; anything else through pysam, in regions of ``region_size`` nt (a read belongs to the region of its
    leftmost aligned base) read by ``workers`` processes. Neither changes the result. Returns ``(arrays, stats)``:
    ``arrays[name]`` has shape ``(2, length)``, ``int32`` (row 0: + strand, row 1: − strand); ``stats[name]`` counts
    the reads ``seen`` (records placed on the contig), ``used``, and ``dropped`` by reason.
    """
    path = alignments.filename.decode()
    bai = bai_path(path) if alignments.is_bam and options.signal != "coverage" else None
    offsets = contig_offsets(bai) if bai else None
    for name in contig_names:
        if name not in alignments.references:
            raise InputError(f"{path}: contig {name!r} is not in the alignment header; align the reads to the whole "
                             "genome, or label only the contigs it has (--contig)")
    records = _indexed_records(alignments)
    total = sum(records.get(name, 0) for name in contig_names) if records else None
    arrays, stats = {}, {}
    with tqdm(total=total, desc="reading alignments", unit=" reads", unit_scale=True, disable=not progress,
              mininterval=1.0) as bar:
        for name in contig_names:
            contig = genome.contig(name)
            if offsets is not None:
                first = offsets[alignments.get_tid(name)]
                batches = () if first is None else (
                    (columns, None) for columns in read_columns(path, alignments.get_tid(name), first, workers))
            else:
                reference = genome.path if alignments.is_cram else None
                jobs = [(path, reference, name, start, min(start + region_size, contig.length), options)
                        for start in range(0, contig.length, region_size)]
                batches = _map(_read_region, jobs, workers)
            arrays[name], stats[name] = _tally(batches, contig.length, contig.circular, options, path, name, bar)
            if records and stats[name]["seen"] != records.get(name, 0):
                raise InputError(f"{path}: its index counts {records.get(name, 0)} records on {name}, but the file "
                                 f"holds {stats[name]['seen']}: the index belongs to an earlier version of the file; "
                                 f"re-index it (samtools index {path})")
    return arrays, stats


def _indexed_records(alignments, which: str = "total") -> dict:
    """Records per contig from a BAM's index ({} for a CRAM, whose index keeps no counts)."""
    if alignments.is_cram:
        return {}
    return {entry.contig: getattr(entry, which) for entry in alignments.get_index_statistics()}


def _map(function, jobs, workers: int):
    """``map(function, jobs)`` in order, by ``workers`` processes when there are several workers and jobs."""
    if workers <= 1 or len(jobs) <= 1:
        yield from map(function, jobs)
        return
    context = multiprocessing.get_context("forkserver")
    with concurrent.futures.ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        yield from pool.map(function, jobs)


def _read_region(job):
    """:class:`Columns` of the reads whose leftmost aligned base lies in ``start..end`` of one contig, read with
    pysam, and for the coverage signal their aligned blocks as ``(read index, block start, block end)`` arrays."""
    path, reference, name, region_start, region_end, options = job
    fields = [array("q") for _ in Columns._fields]
    start_of, end_of, flag_of, mapq_of, left_of, right_of = (column.append for column in fields)
    blocks = (array("q"), array("q"), array("q")) if options.signal == "coverage" else None
    try:
        with pysam.AlignmentFile(path, "r", reference_filename=reference) as alignments:
            for read in alignments.fetch(name, region_start, region_end):
                start = read.reference_start
                if start < region_start:  # begins in an earlier region, which counts it
                    continue
                if blocks is not None:
                    for block in read.get_blocks():
                        blocks[0].append(len(fields[0]))
                        blocks[1].append(block[0])
                        blocks[2].append(block[1])
                start_of(start)
                end = read.reference_end
                end_of(end if end is not None else start + 1)  # a mapped read without CIGAR covers its position
                flag_of(read.flag)
                mapq_of(read.mapping_quality)
                cigar = read.cigartuples if options.unclipped else None
                left_of(_clipped(cigar, 0) if cigar else 0)
                right_of(_clipped(cigar, -1) if cigar else 0)
    except OSError as error:  # also when closing fails after a read error
        raise InputError(f"{path}: cannot read alignments on {name} ({error}); the file is truncated or "
                         "corrupt, or its index does not belong to it (re-index it with samtools index)") from error
    columns = Columns(*(np.array(column, dtype=np.int64) for column in fields))
    return columns, None if blocks is None else tuple(np.array(b, dtype=np.int64) for b in blocks)


REASONS = ("unmapped", "secondary", "supplementary", "duplicate", "qc_fail", "other_mate", "low_mapq", "off_contig")


def select_reads(columns: Columns, options: ReadOptions, length: int, circular: bool):
    """Which reads count, on which strand, at which position.

    Returns ``(reason, minus, position)``, arrays of shape ``(n,)``: ``reason`` indexes :data:`REASONS` for a
    dropped read (the first that applies) and is -1 for a used one; ``minus`` is True for the − transcript strand;
    ``position`` is the read end the signal counts (wrapped later on circular contigs).
    """
    flag = columns.flag
    reason = np.full(flag.size, -1, dtype=np.int64)

    def drop(mask, why):
        reason[(reason < 0) & mask] = REASONS.index(why)

    for bit, why in _FLAG_REASONS:
        if options.drop_mask & bit:
            drop(flag & bit != 0, why)
    mate_bit = _FLAG_READ1 if options.mate == 1 else _FLAG_READ2
    drop((flag & _FLAG_PAIRED != 0) & (flag & mate_bit == 0), "other_mate")
    drop(columns.mapq < options.min_mapq, "low_mapq")
    reverse = flag & _FLAG_REVERSE != 0
    minus = reverse ^ (options.strandedness == "reverse") ^ (flag & _FLAG_READ2 != 0)
    right = reverse != (options.signal == "three_prime")  # the counted end lies at the right of the alignment
    if options.unclipped:
        position = np.where(right, columns.end - 1 + columns.right_clip, columns.start - columns.left_clip)
    else:
        position = np.where(right, columns.end - 1, columns.start)
    if not circular and options.signal != "coverage":
        drop((position < 0) | (position >= length), "off_contig")
    return reason, minus, position


def _tally(batches, length: int, circular: bool, options: ReadOptions, path: str, name: str, bar):
    """Sum the batches of one contig into its ``(2, length)`` signal and read counts."""
    rows = ([], [])
    dropped = np.zeros(len(REASONS), dtype=np.int64)
    seen = used = 0
    last_start = -1
    for columns, blocks in batches:
        if columns.start.size:
            unsorted = np.flatnonzero(np.diff(columns.start, prepend=last_start) < 0)
            if unsorted.size:
                at = int(unsorted[0])
                raise InputError(f"{path}: a read at {name}:{columns.start[at] + 1} follows one further right: the "
                                 "file is not sorted by coordinate; sort and index it")
            last_start = int(columns.start[-1])
        reason, minus, position = select_reads(columns, options, length, circular)
        used_mask = reason < 0
        seen += reason.size
        used += int(used_mask.sum())
        dropped += np.bincount(reason[~used_mask], minlength=len(REASONS))
        if blocks is not None:
            index, block_starts, block_ends = blocks
            keep = used_mask[index]
            for row, strand_mask in enumerate((~minus[index] & keep, minus[index] & keep)):
                rows[row].append(np.stack([block_starts[strand_mask], block_ends[strand_mask]], axis=1).ravel())
        else:
            for row, strand_mask in enumerate((~minus & used_mask, minus & used_mask)):
                rows[row].append(position[strand_mask])
        bar.update(reason.size)
    signal = np.stack([
        _coverage(values, length, circular) if options.signal == "coverage"
        else np.bincount(values % length, minlength=length).astype(np.int32)
        for values in (np.concatenate(row) if row else np.zeros(0, np.int64) for row in rows)])
    if options.strandedness == "unstranded":
        signal[:] = signal.sum(axis=0)
    counts = {why: int(n) for why, n in zip(REASONS, dropped) if n}
    return signal, {"seen": seen, "used": used, "dropped": dict(sorted(counts.items())),
                    "dropped_total": int(dropped.sum())}


def _clipped(cigar, index: int) -> int:
    """Bases clipped (soft or hard) at one end of a CIGAR: index 0 for the left end, -1 for the right."""
    total = 0
    for op, size in (cigar if index == 0 else reversed(cigar)):
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
