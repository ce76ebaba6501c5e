"""Fast columnar reading of BAM records: BAI → BGZF blocks (inflated in threads) → numba record parser → columns.

pysam creates a Python object per alignment, which costs more than decompressing the file; for the end-of-read
signals only six numbers per record are needed, so this module reads them straight from the BAM bytes (SAM/BAM
specification §4.2) into :class:`Columns`. It needs a BAM with a ``.bai`` index; :mod:`pygenome.io.alignments` reads
everything else (CRAM, CSI-indexed BAM, coverage) through pysam into the same columns, and the tests check that both
readers agree record for record.
"""

from __future__ import annotations

import concurrent.futures
import os
import struct
from pathlib import Path
from typing import Iterator, NamedTuple

import numba
import numpy as np

try:  # ISA-L inflates BGZF blocks about 2.5x faster than zlib
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - isal is a dependency; zlib gives the same bytes
    import zlib as _zlib

from pygenome.errors import InputError

_PSEUDO_BIN = 37450
_BGZF_MAGIC = b"\x1f\x8b\x08\x04"
_READ_BYTES = 8 << 20  # compressed bytes read and inflated at a time
_MIN_RECORD = 37  # block_size (4) + fixed fields (32) + the read name's NUL


class Columns(NamedTuple):
    """Fields of n alignment records, each an ``int64`` array of shape ``(n,)``: ``start`` (0-based leftmost aligned
    base), ``end`` (exclusive end of the alignment on the reference; ``start + 1`` for records without CIGAR),
    ``flag``, ``mapq``, and the bases clipped (soft + hard) at the ``left_clip`` and ``right_clip`` ends."""

    start: np.ndarray
    end: np.ndarray
    flag: np.ndarray
    mapq: np.ndarray
    left_clip: np.ndarray
    right_clip: np.ndarray


def bai_path(bam: str | Path) -> Path | None:
    """The ``.bai`` index of a BAM (``x.bam.bai`` or ``x.bai``), or None."""
    bam = Path(bam)
    for candidate in (bam.with_name(bam.name + ".bai"), bam.with_suffix(".bai")):
        if candidate.is_file():
            return candidate
    return None


def contig_offsets(bai: str | Path) -> list[int | None]:
    """Per reference in the BAM header, the virtual file offset of its first record (None when it has none)."""
    data = Path(bai).read_bytes()
    if data[:4] != b"BAI\x01":
        raise InputError(f"{bai}: not a BAI index; re-create it with `samtools index`")
    offset = 4
    (n_ref,) = struct.unpack_from("<i", data, offset)
    offset += 4
    firsts: list[int | None] = []
    for _ in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", data, offset)
        offset += 4
        first = None
        for _ in range(n_bin):
            bin_id, n_chunk = struct.unpack_from("<Ii", data, offset)
            offset += 8
            if bin_id != _PSEUDO_BIN and n_chunk:
                begins = struct.unpack_from(f"<{2 * n_chunk}Q", data, offset)[::2]
                first = min(begins) if first is None else min(first, *begins)
            offset += 16 * n_chunk
        (n_intv,) = struct.unpack_from("<i", data, offset)
        offset += 4 + 8 * n_intv
        firsts.append(first)
    return firsts


def read_columns(bam: str | Path, tid: int, first: int, threads: int = 1, progress=None) -> Iterator[Columns]:
    """Columns of the records of reference ``tid``, from virtual offset ``first`` on, in file order.

    ``threads`` inflate BGZF blocks in parallel; ``progress(n)`` is called with the compressed bytes consumed.
    """
    if first >> 16 >= Path(bam).stat().st_size:
        raise InputError(f"{bam}: its index points past the end of the file: the index is not its own; re-index it "
                         f"with `samtools index {bam}`")
    carry = b""
    skip = first & 0xFFFF
    with open(bam, "rb") as handle, concurrent.futures.ThreadPoolExecutor(max(threads, 1)) as pool:
        handle.seek(first >> 16)
        for compressed, parts in _one_ahead(_inflated_chunks(handle, pool, threads, str(bam))):
            blocks = [block for part in parts for block in part]
            if progress is not None:
                progress(compressed)
            if skip:
                blocks[0] = blocks[0][skip:]
                skip = 0
            buffer = np.frombuffer(b"".join([carry, *blocks]), dtype=np.uint8)
            columns = [np.empty(buffer.size // _MIN_RECORD + 1, dtype=np.int64) for _ in Columns._fields]
            consumed, count, done = _parse_records(buffer, tid, *columns)
            if consumed < 0:
                raise InputError(f"{bam}: corrupt BAM record near compressed offset {handle.tell()}; the file is "
                                 f"damaged, or its index is not its own: re-index it with `samtools index {bam}`")
            yield Columns(*(column[:count] for column in columns))
            if done:
                return
            carry = buffer[consumed:].tobytes()
    if carry:
        raise InputError(f"{bam}: ends inside a BAM record; the file is truncated: create it again")


def _one_ahead(iterator):
    """Yield from ``iterator`` while it already works on the next item (here: the next chunk's inflation runs in the
    pool while the current chunk is parsed)."""
    current = next(iterator, None)
    while current is not None:
        upcoming = next(iterator, None)
        yield current
        current = upcoming


def _inflated_chunks(handle, pool, threads: int, path: str) -> Iterator[tuple[int, Iterator[list[bytes]]]]:
    """``(compressed bytes, inflated blocks in groups)`` of consecutive runs of whole BGZF blocks; the groups are
    inflated by the pool as soon as the run is read."""
    pending = b""
    while True:
        chunk = handle.read(_READ_BYTES)
        data = pending + chunk
        if not data:
            return
        base = handle.tell() - len(data)  # file offset of data[0]
        spans, offset = [], 0
        while offset + 18 <= len(data):
            if data[offset:offset + 4] != _BGZF_MAGIC:
                raise InputError(f"{path}: no BGZF block at compressed offset {base + offset}; its index is not its "
                                 f"own (re-index it with `samtools index {path}`) or the file is damaged")
            size = struct.unpack_from("<H", data, offset + 16)[0] + 1
            if offset + size > len(data):
                break
            spans.append((offset, size))
            offset += size
        if not spans:
            if not chunk:
                raise InputError(f"{path}: ends inside a BGZF block; the file is truncated: create it again")
            pending = data
            continue
        pending = data[offset:]
        view = memoryview(data)
        groups = np.array_split(np.array(spans), max(threads, 1))
        parts = pool.map(_inflate_blocks, [(view, group, base, path) for group in groups if len(group)])
        yield offset, parts


def _inflate_blocks(job) -> list[bytes]:
    view, spans, base, path = job
    blocks = []
    for offset, size in spans:
        try:
            block = _zlib.decompress(view[offset + 18:offset + size - 8], -15)
        except _zlib.error as error:
            raise InputError(f"{path}: BGZF block at compressed offset {base + offset} does not inflate ({error}); "
                             "the file is damaged: create it again") from error
        if len(block) != struct.unpack_from("<I", view, offset + size - 4)[0]:
            raise InputError(f"{path}: BGZF block at compressed offset {base + offset} inflates to the wrong size; "
                             "the file is damaged")
        blocks.append(block)
    return blocks


# numba caches the compiled readers beside this file by default: inside an installed package that is a read-only
# folder in containers and system installs, and a leftover pygenome/__pycache__ in site-packages shadows a later
# editable install of the same environment. They go to the user's cache folder instead (a NUMBA_CACHE_DIR wins).
if not numba.config.CACHE_DIR:
    numba.config.CACHE_DIR = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                          "pygenome", "numba")


@numba.njit(cache=True, nogil=True)
def _u32(buffer, at):
    return (np.uint32(buffer[at]) | (np.uint32(buffer[at + 1]) << 8) | (np.uint32(buffer[at + 2]) << 16)
            | (np.uint32(buffer[at + 3]) << 24))


@numba.njit(cache=True, nogil=True)
def _parse_records(buffer, tid, start, end, flag, mapq, left_clip, right_clip):  # pragma: no cover - compiled
    """Parse whole records from ``buffer`` until one of another reference or the end of the buffer.

    Returns ``(bytes consumed, records parsed, reached another reference)``; ``-1`` bytes for a malformed record.
    """
    offset, count, size = 0, 0, buffer.size
    while offset + 4 <= size:
        block_size = np.int64(_u32(buffer, offset))
        if block_size < 32:
            return -1, count, False
        if offset + 4 + block_size > size:
            break
        record = offset + 4
        if np.int32(_u32(buffer, record)) != tid:
            return offset, count, True
        position = np.int64(np.int32(_u32(buffer, record + 4)))
        name_length = np.int64(buffer[record + 8])
        n_cigar = np.int64(buffer[record + 12]) | (np.int64(buffer[record + 13]) << 8)
        cigar = record + 32 + name_length
        if cigar + 4 * n_cigar > record + block_size:
            return -1, count, False
        span, left, right, aligned = 0, 0, 0, False
        for index in range(n_cigar):
            value = _u32(buffer, cigar + 4 * index)
            op, length = value & 0xF, np.int64(value >> 4)
            if op == 0 or op == 2 or op == 3 or op == 7 or op == 8:  # M D N = X consume the reference
                span += length
                aligned = True
            elif op == 4 or op == 5:  # S H
                if aligned:
                    right += length
                else:
                    left += length
        start[count] = position
        end[count] = position + max(span, 1)  # a mapped read without CIGAR covers its position
        flag[count] = np.int64(buffer[record + 14]) | (np.int64(buffer[record + 15]) << 8)
        mapq[count] = buffer[record + 9]
        left_clip[count] = left
        right_clip[count] = right
        count += 1
        offset += 4 + block_size
    return offset, count, False
