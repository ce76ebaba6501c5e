"""Genomes: FASTA or GenBank → contigs (name, length, topology, checksum), integer encoding, reverse complement,
windows.

Sequences are held as ``uint8`` code arrays: A=0, C=1, G=2, T=3 and N=4. Lower-case (soft-masked) letters are read as
upper-case, U as T, and every IUPAC ambiguity code (R Y S W K M B D H V N) becomes N; any other character is an error
that names the file, the record and the position. Coordinates are 0-based.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from pygenome.errors import InputError

N_CODE = 4
TOPOLOGIES = ("auto", "circular", "linear")

_INVALID = 255
_ENCODE = np.full(256, _INVALID, dtype=np.uint8)
for _code, _letters in enumerate(("Aa", "Cc", "Gg", "TtUu", "NnRrYySsWwKkMmBbDdHhVv")):
    for _letter in _letters:
        _ENCODE[ord(_letter)] = _code
_COMPLEMENT = np.array([3, 2, 1, 0, N_CODE], dtype=np.uint8)
_TOPOLOGY_TAG = re.compile(r"\btopology=(circular|linear)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Contig:
    """One FASTA record: ``md5`` is the hex MD5 of the upper-case sequence (the SAM ``M5`` tag)."""

    name: str
    length: int
    circular: bool
    md5: str

    def as_dict(self) -> dict:
        return {"name": self.name, "length": self.length, "circular": self.circular, "md5": self.md5}


@dataclass(frozen=True)
class Genome:
    """Contigs in FASTA order and their code arrays (``codes[name]``: shape ``(length,)``, ``uint8``)."""

    path: str
    contigs: tuple[Contig, ...]
    codes: dict[str, np.ndarray] = field(repr=False)
    untagged: tuple[str, ...] = ()  # contigs read as linear by "auto" for want of a [topology=...] tag

    @property
    def checksum(self) -> str:
        """SHA-256 over every contig's name, length and MD5: equal checksums mean equal genomes."""
        return genome_checksum(self.contigs)

    def contig(self, name: str) -> Contig:
        for contig in self.contigs:
            if contig.name == name:
                return contig
        raise InputError(
            f"{self.path}: no contig named {name!r}; the genome has {', '.join(c.name for c in self.contigs)}"
        )


def genome_checksum(contigs) -> str:
    """SHA-256 (hex) of ``name<TAB>length<TAB>md5`` lines, one per contig in order."""
    text = "".join(f"{c.name}\t{c.length}\t{c.md5}\n" for c in contigs)
    return hashlib.sha256(text.encode()).hexdigest()


def encode(sequence: str | bytes, where: str = "sequence") -> np.ndarray:
    """Integer codes of a nucleotide sequence: shape ``(len(sequence),)``, ``uint8`` in 0..4.

    ``where`` names the sequence in the error raised for a character that is no nucleotide or IUPAC code.
    """
    raw = sequence.encode("ascii", errors="replace") if isinstance(sequence, str) else bytes(sequence)
    codes = _ENCODE[np.frombuffer(raw, dtype=np.uint8)]
    bad = np.flatnonzero(codes == _INVALID)
    if bad.size:
        position = int(bad[0])
        raise InputError(
            f"{where}: character {chr(raw[position])!r} at position {position + 1} (1-based) is not a nucleotide "
            f"or IUPAC code; {bad.size} such character(s) in all. Remove gaps and other symbols from the sequence."
        )
    return codes


def decode(codes: np.ndarray) -> str:
    """The sequence string (A, C, G, T, N) of a code array."""
    return np.frombuffer(b"ACGTN", dtype=np.uint8)[codes].tobytes().decode()


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of a code array along its last axis (N stays N): same shape as ``codes``."""
    return _COMPLEMENT[codes][..., ::-1]


def one_hot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """One-hot encoding: ``(..., L)`` codes → ``(..., 4, L)`` with channels A, C, G, T; N is all zeros."""
    eye = np.vstack([np.eye(4, dtype=dtype), np.zeros((1, 4), dtype=dtype)])
    return np.moveaxis(eye[codes], -1, -2)


def windows(codes: np.ndarray, starts, length: int, circular: bool, fill=N_CODE) -> np.ndarray:
    """Windows ``codes[start:start + length]`` for each start: shape ``(len(starts), length)``.

    Starts may lie outside ``0..len(codes)``. On a circular contig the windows wrap around the origin; on a linear one
    the positions off either end read as ``fill`` (N for sequences). Works for any 1-D array (labels too).
    """
    index = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(length, dtype=np.int64)
    size = codes.shape[0]
    if circular:
        return codes[index % size]
    inside = (index >= 0) & (index < size)
    return np.where(inside, codes[np.clip(index, 0, size - 1)], np.asarray(fill, dtype=codes.dtype))


def read_genome(path: str | Path, topology: str = "auto") -> Genome:
    """Read a FASTA file (plain, gzip or bgzip), or a GenBank flat file (its records' sequences), into a
    :class:`Genome`.

    ``topology`` is ``"circular"`` or ``"linear"`` for every contig, or ``"auto"``: circular where the FASTA header
    says ``[topology=circular]`` (as NCBI writes it) or the GenBank LOCUS line says circular, linear otherwise.
    """
    if topology not in TOPOLOGIES:
        raise InputError(f"topology must be one of {', '.join(TOPOLOGIES)}, not {topology!r}")
    path = str(path)
    if not Path(path).is_file():
        raise InputError(f"{path}: genome FASTA not found")
    if is_genbank(path):
        return _genbank_genome(path, topology)
    contigs, codes, untagged = [], {}, []
    try:
        with pysam.FastxFile(path) as fasta:
            for number, record in enumerate(fasta, start=1):
                name = record.name
                where = f"{path}: record {number} ({name!r})"
                if name in codes:
                    raise InputError(f"{where}: duplicate contig name; every FASTA record needs a unique name")
                sequence = record.sequence or ""
                if not sequence:
                    raise InputError(f"{where}: empty sequence; remove the record or give it its sequence")
                array = encode(sequence, where)
                circular = _is_circular(record.comment or "", topology)
                if topology == "auto" and not _TOPOLOGY_TAG.search(record.comment or ""):
                    untagged.append(name)
                md5 = hashlib.md5(sequence.upper().encode()).hexdigest()
                contigs.append(Contig(name, int(array.size), circular, md5))
                codes[name] = array
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read as FASTA ({error}); is it a whole (b)gzip-compressed or plain FASTA "
                         "file? A truncated download gives this too") from error
    if not contigs:
        raise InputError(f"{path}: no FASTA records; a genome FASTA starts with a '>name' header line")
    return Genome(path, tuple(contigs), codes, tuple(untagged))


def open_text(path):
    """``path`` opened as text, gunzipped when it starts with gzip's magic bytes."""
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if gzipped else open(path)


def is_genbank(path) -> bool:
    """Whether ``path`` is a GenBank flat file (plain or gzip): its first line that is not blank starts with LOCUS."""
    try:
        with open_text(path) as handle:
            for line in handle:
                if line.strip():
                    return line.startswith("LOCUS")
    except (OSError, UnicodeDecodeError, EOFError):
        return False
    return False


def read_genbank(path) -> list:
    """The records (Biopython ``SeqRecord``) of a GenBank file, each with its sequence."""
    from Bio import SeqIO

    try:
        with open_text(path) as handle:
            records = list(SeqIO.parse(handle, "genbank"))
    except (OSError, ValueError, EOFError) as error:
        raise InputError(f"{path}: cannot read as GenBank ({error}); is it a whole GenBank flat file (.gbff)?") \
            from error
    if not records:
        raise InputError(f"{path}: no GenBank records; a record starts with a LOCUS line")
    for number, record in enumerate(records, start=1):
        try:
            bytes(record.seq)
        except Exception as error:  # Biopython's UndefinedSequenceError: a record without ORIGIN
            raise InputError(f"{path}: record {number} ({record.id}) has no sequence; download the GenBank file "
                             "with its sequence (NCBI: 'GenBank (full)' / gbwithparts)") from error
    return records


def _genbank_genome(path: str, topology: str) -> Genome:
    """A GenBank file's genome: a contig per record, named by its accession.version (the FASTA name NCBI gives)."""
    contigs, codes, untagged = [], {}, []
    for number, record in enumerate(read_genbank(path), start=1):
        where = f"{path}: record {number} ({record.id!r})"
        if record.id in codes:
            raise InputError(f"{where}: duplicate contig name; every GenBank record needs a unique accession")
        sequence = str(record.seq)
        if not sequence:
            raise InputError(f"{where}: empty sequence; remove the record or give it its sequence")
        codes[record.id] = encode(sequence, where)
        stated = record.annotations.get("topology")
        if topology == "auto" and stated not in ("circular", "linear"):
            untagged.append(record.id)
        circular = topology == "circular" or (topology == "auto" and stated == "circular")
        contigs.append(Contig(record.id, len(sequence), circular, hashlib.md5(sequence.upper().encode()).hexdigest()))
    return Genome(path, tuple(contigs), codes, tuple(untagged))


def _is_circular(comment: str, topology: str) -> bool:
    if topology != "auto":
        return topology == "circular"
    tag = _TOPOLOGY_TAG.search(comment)
    return bool(tag) and tag.group(1).lower() == "circular"
