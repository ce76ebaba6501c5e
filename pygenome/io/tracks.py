"""Tracks: per-contig, per-strand, per-nucleotide arrays (counts, labels or scores) with their provenance.

A track file (``*.track.npz``) is a zip archive that ``numpy.load`` reads:

- ``meta``: a 0-d string array holding JSON: ``format`` ("pygenome-track"), ``format_version``, ``kind`` (e.g.
  "signal", "labels", "scores"), ``genome`` (checksum and every contig's name, length, topology and MD5),
  ``contigs`` (the names of the contigs stored here, in order: a per-contig task stores one) and ``producer`` (the
  step, pygenome version and parameters that made it).
- ``contig_<i>``: the array of the i-th stored contig, shape ``(2, length)``; row 0 is the + strand and row 1 the
  − strand, both indexed by forward-strand 0-based position.

The archive is written by :func:`pygenome.io.outputs.save_npz` (deflated, fixed timestamps), so the same content gives
the same bytes. Reading one contig does not read the others.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pygenome.errors import InputError
from pygenome.io.genome import Genome
from pygenome.io.outputs import atomic_outputs, save_npz

FORMAT = "pygenome-track"
FORMAT_VERSION = 1
STRANDS = ("+", "-")


@dataclass
class Track:
    """A track in memory: ``arrays[contig]`` has shape ``(2, length)`` (row 0: + strand, row 1: − strand)."""

    kind: str
    genome: dict
    arrays: dict[str, np.ndarray] = field(repr=False)
    producer: dict = field(default_factory=dict)

    @property
    def meta(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "genome": self.genome,
            "contigs": list(self.arrays),
            "producer": self.producer,
        }

    def contig_info(self, name: str) -> dict:
        return next(c for c in self.genome["contigs"] if c["name"] == name)


def genome_meta(genome: Genome) -> dict:
    """The ``genome`` block of a track's metadata."""
    return {
        "path": Path(genome.path).name,
        "checksum": genome.checksum,
        "contigs": [contig.as_dict() for contig in genome.contigs],
    }


def save_track(path: str | Path, track: Track) -> None:
    """Write ``track`` to ``path`` whole or not at all."""
    for name, array in track.arrays.items():
        length = track.contig_info(name)["length"]
        if array.shape != (2, length):
            raise ValueError(f"track array for {name} has shape {array.shape}, expected (2, {length})")
    members = {"meta": np.array(json.dumps(track.meta, sort_keys=True))}
    members.update({f"contig_{index}": array for index, array in enumerate(track.arrays.values())})
    save_npz(path, members)


def read_track_meta(path: str | Path) -> dict:
    """The metadata of a track file, without reading its arrays."""
    with _open(path) as archive:
        return _meta(archive, path)


def load_track(path: str | Path, contigs=None) -> Track:
    """Read a track file; ``contigs`` (names) restricts what is read, None reads every stored contig."""
    with _open(path) as archive:
        meta = _meta(archive, path)
        stored = meta["contigs"]
        wanted = stored if contigs is None else list(contigs)
        missing = [name for name in wanted if name not in stored]
        if missing:
            raise InputError(f"{path}: track holds no contig {', '.join(map(repr, missing))}; it holds {stored}")
        arrays = {name: _member(archive, f"contig_{stored.index(name)}", path) for name in wanted}
    return Track(meta["kind"], meta["genome"], arrays, meta.get("producer", {}))


def _open(path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        reason = "not an .npz archive" if "pickle" in str(error) else str(error)  # (numpy's advice is unsafe)
        raise InputError(f"{path}: not a readable pygenome track file ({reason})") from error


def _member(archive, name: str, path) -> np.ndarray:
    """A member array, numeric (an object array would need pickle, which is never used to read a file)."""
    try:
        array = archive[name]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
        raise InputError(f"{path}: member {name!r} is not a readable array ({error}); not a track written by "
                         "pygenome, or a damaged one: re-create it") from error
    if name != "meta" and array.dtype.kind not in "biuf":
        raise InputError(f"{path}: member {name!r} holds {array.dtype} values, not numbers; re-create the track")
    return array


def _meta(archive, path) -> dict:
    if "meta" not in archive.files:
        raise InputError(f"{path}: not a pygenome track file (no 'meta' member)")
    try:
        meta = json.loads(str(_member(archive, "meta", path)))
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: its 'meta' member is not JSON ({error}); re-create the track") from error
    if not isinstance(meta, dict):
        raise InputError(f"{path}: its 'meta' member is not a JSON object; re-create the track")
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{path}: format {meta.get('format')} v{meta.get('format_version')}, expected {FORMAT} "
                         f"v{FORMAT_VERSION}; re-create it with this version of pygenome")
    return meta


def check_same_genome(track: Track, genome: Genome, where: str) -> None:
    """Raise when ``track`` was made from another genome than ``genome``."""
    if track.genome["checksum"] != genome.checksum:
        raise InputError(
            f"{where}: made from genome {track.genome['path']} (checksum {track.genome['checksum'][:12]}…), which "
            f"differs from {genome.path} (checksum {genome.checksum[:12]}…); re-run the label step on this genome"
        )


def runs(values: np.ndarray):
    """Runs of equal non-zero values in a 1-D array: ``(starts, ends, values)``, ends exclusive."""
    change = np.flatnonzero(np.diff(values)) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [values.size]))
    run_values = values[starts]
    keep = run_values != 0
    return starts[keep], ends[keep], run_values[keep]


def write_bedgraph(track: Track, path: str | Path, strand: str) -> None:
    """One strand of a track as bedGraph (0-based, half-open; zero runs left out)."""
    row = STRANDS.index(strand)
    with atomic_outputs(path) as (temp,), open(temp, "w") as out:
        out.write(f'track type=bedGraph name="{track.kind} {strand}"\n')
        for name, array in track.arrays.items():
            starts, ends, values = runs(array[row])
            text = values.astype(str) if values.dtype.kind in "iub" else np.char.mod("%.6g", values)
            lines = np.char.add(np.char.add(np.char.add(f"{name}\t", starts.astype(str)), "\t"), ends.astype(str))
            out.writelines(f"{line}\t{value}\n" for line, value in zip(lines, text))


def write_bigwig(track: Track, path: str | Path, strand: str) -> None:
    """One strand of a track as bigWig (every genome contig in the header): a dense track (scores) as fixed steps of 1
    nt, a sparse one (counts, labels) as its non-zero runs."""
    import pyBigWig

    row = STRANDS.index(strand)
    with atomic_outputs(path) as (temp,):
        bigwig = pyBigWig.open(str(temp), "w")
        try:
            bigwig.addHeader([(c["name"], c["length"]) for c in track.genome["contigs"]], maxZooms=10)
            for name, array in track.arrays.items():
                starts, ends, values = runs(array[row])
                if starts.size > array.shape[1] // 4:  # dense (scores): every position, in fixed steps
                    bigwig.addEntries(name, 0, values=array[row].astype(np.float64), span=1, step=1)
                elif starts.size:  # sparse (counts, labels): the non-zero runs
                    bigwig.addEntries([name] * starts.size, starts.astype(np.int64), ends=ends.astype(np.int64),
                                      values=values.astype(np.float64))
        finally:
            bigwig.close()


def write_bed(track: Track, path: str | Path) -> None:
    """Every non-zero position of a track as a BED6 line: name ``<contig>:<1-based position><strand>``, score the
    value."""
    with atomic_outputs(path) as (temp,), open(temp, "w") as out:
        for name, array in track.arrays.items():
            rows, positions = np.nonzero(array)
            order = np.lexsort((rows, positions))
            for row, position in zip(rows[order], positions[order]):
                strand = STRANDS[row]
                value = array[row, position].item()
                out.write(f"{name}\t{position}\t{position + 1}\t{name}:{position + 1}{strand}\t{value:g}\t{strand}\n")


def export_track(track: Track, prefix: str | Path, fmt: str) -> list[Path]:
    """Export a track as ``bigwig`` or ``bedgraph`` (``<prefix>.plus.<ext>`` and ``<prefix>.minus.<ext>``) or ``bed``
    (``<prefix>.bed``); returns the paths written."""
    if fmt == "bed":
        path = Path(f"{prefix}.bed")
        write_bed(track, path)
        return [path]
    writer, extension = {"bigwig": (write_bigwig, "bw"), "bedgraph": (write_bedgraph, "bedgraph")}[fmt]
    paths = []
    for strand, word in zip(STRANDS, ("plus", "minus")):
        paths.append(Path(f"{prefix}.{word}.{extension}"))
        writer(track, paths[-1], strand)
    return paths
