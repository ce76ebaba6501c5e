"""Motifs as position matrices: read from MEME minimal format or TRANSFAC, written as MEME minimal format.

A :class:`Motif` holds a ``(width, 4)`` matrix of counts or probabilities, columns A, C, G, T. :func:`read_motifs`
reads a plain or gzip file (gzip recognised by its magic bytes, whatever the file's name) and tells the format by its
content:

- MEME minimal format (a ``MEME version`` line): each ``MOTIF <id> [<description>]`` block (the description's words
  joined by single spaces, as memelite does) needs a ``letter-probability matrix:`` line (``alength= 4 w= <width>
  nsites= <sites> E= <e>``, every key optional) followed by one row of four probabilities per position; rows must sum
  to 1 within 0.02. ``log-odds matrix:`` sections and ``URL`` lines are skipped. The alphabet must be DNA
  (``ALPHABET= ACGT``, or no ALPHABET line).
- TRANSFAC (``P0`` or ``PO`` lines): records end with ``//``; a record's matrix is its ``P0``/``PO`` header line
  (the four letters A C G T in any order) and the numbered rows after it (position, four counts, optionally a
  consensus letter). The motif's name is the record's ``ID`` (whitespace replaced by ``_``), else its ``AC``; its
  description is the ``DE`` line, else the ``AC``. ``nsites`` is the largest row sum, rounded, for a count matrix
  (rows summing to more than 1.02), and 0 (unknown) for a frequency matrix.
"""

from __future__ import annotations

import gzip
import math
import re
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pygenome.errors import InputError
from pygenome.io.outputs import atomic_outputs

LETTERS = "ACGT"
UNIFORM = (0.25, 0.25, 0.25, 0.25)
ROW_SUM_TOLERANCE = 0.02

_GZIP_MAGIC = b"\x1f\x8b"
_KEY_VALUE = re.compile(r"([A-Za-z]+)\s*=\s*(\S+)")


def probabilities(motif: Motif, pseudocount: float = 0.0) -> np.ndarray:
    """Letter probabilities of ``motif``: shape ``(width, 4)``, ``float64``, each row summing to 1.

    ``pseudocount`` is added to every cell before each row is divided by its sum: in the units of the motif's counts
    (for a probability matrix, something like 0.01; for counts, 0.25 to 1).
    """
    if not pseudocount >= 0:
        raise InputError(f"motif {motif.name!r}: pseudocount must be 0 or more, not {pseudocount}")
    counts = motif.counts + pseudocount
    sums = counts.sum(axis=1, keepdims=True)
    if (sums == 0).any():
        raise InputError(f"motif {motif.name!r}: position {int(np.flatnonzero(sums == 0)[0]) + 1} has no counts; "
                         "use a pseudocount above 0")
    return counts / sums


def consensus(motif: Motif) -> str:
    """The most frequent letter of each position (no IUPAC codes); a tie goes to the first of A, C, G, T."""
    return "".join(LETTERS[index] for index in motif.counts.argmax(axis=1))


def information_content(probabilities: np.ndarray, background=UNIFORM) -> np.ndarray:
    """Information content of each position in bits, ``sum(p * log2(p / background))`` with 0 log 0 = 0.

    ``probabilities``: shape ``(width, 4)``, rows summing to 1 (see :func:`probabilities`); ``background``: the four
    letter frequencies A, C, G, T. Returns shape ``(width,)``, ``float64``; 2 bits at most for a uniform background.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] != 4 or (probabilities < 0).any():
        raise InputError(f"probabilities must have shape (width, 4) and no negative value; got shape "
                         f"{probabilities.shape}")
    background = _background(background, "information_content")
    ratios = np.divide(probabilities, background, out=np.ones_like(probabilities), where=probabilities > 0)
    return (probabilities * np.log2(ratios)).sum(axis=1)


def read_motifs(path, skip_invalid: bool = False) -> list[Motif]:
    """The motifs of a MEME minimal format or TRANSFAC file, plain or gzip (see the module's rules), in file order.

    Raises :class:`InputError` naming the file, the motif and the line for: a missing or unreadable file, an empty
    file, a file in neither format, one with no motif, a non-DNA alphabet, a row without exactly four values (plus
    TRANSFAC's position and optional consensus letter), a value that is no number, a width that differs from
    ``w=``, and a matrix that is no valid matrix (a negative or non-finite value, a MEME row not summing to 1 within
    0.02, a TRANSFAC row summing to 0). With ``skip_invalid``, motifs of that last kind are left out with a warning
    instead (DBTBS's HrcA matrix has negative values, an artefact of its conversion).
    """
    text = _read_text(path)
    if not text.strip():
        raise InputError(f"{path}: the motif file is empty")
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)]
    if any(line.startswith("MEME version") for _, line in lines):
        motifs = _read_meme(path, lines, skip_invalid)
    elif any(line.split()[:1] in (["P0"], ["PO"]) for _, line in lines):
        motifs = _read_transfac(path, lines, skip_invalid)
    else:
        raise InputError(f"{path}: neither MEME minimal format (no 'MEME version' line) nor TRANSFAC (no 'P0' or "
                         "'PO' matrix header); convert the file to one of them")
    if not motifs:
        raise InputError(f"{path}: no motifs in the file")
    return motifs


def write_meme(path, motifs, background=UNIFORM) -> None:
    """Write ``motifs`` as MEME minimal format version 4, whole or not at all.

    DNA alphabet, both strands, the ``background`` letter frequencies (A, C, G, T) and, per motif, a
    ``MOTIF <name> [<description>]`` line, ``letter-probability matrix: alength= 4 w= <width> nsites= <nsites> E= 0``
    and its probabilities (:func:`probabilities` without pseudocount) with 6 decimals. The same motifs give the same
    bytes; no motifs give the header alone (a step that found none still writes its file). Raises
    :class:`InputError` for a name with whitespace or a description with a line break.
    """
    motifs = list(motifs)
    background = _background(background, str(path))
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "", "Background letter frequencies",
             " ".join(f"{letter} {value:.6f}" for letter, value in zip(LETTERS, background)), ""]
    for motif in motifs:
        if re.search(r"\s", motif.name):
            raise InputError(f"{path}: motif {motif.name!r}: a MEME motif name cannot contain whitespace; rename it")
        if "\n" in motif.description or "\r" in motif.description:
            raise InputError(f"{path}: motif {motif.name!r}: the description cannot contain a line break")
        lines.append(f"MOTIF {motif.name} {motif.description}".rstrip())
        lines.append(f"letter-probability matrix: alength= 4 w= {motif.width} nsites= {motif.nsites} E= 0")
        try:
            rows = probabilities(motif)
        except InputError as error:
            raise InputError(f"{path}: {error}") from None
        lines.extend(" " + "  ".join(f"{value:.6f}" for value in row) for row in rows)
        lines.append("")
    with atomic_outputs(path) as (temp,), open(temp, "w", encoding="utf-8", newline="\n") as out:
        out.write("\n".join(lines) + "\n")


def _read_text(path) -> str:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: motif file not found") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read the motif file ({error})") from None
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise InputError(f"{path}: a damaged gzip file ({error}); download it again") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not a text motif file (byte {error.start} is not UTF-8)") from None


def _read_meme(path, lines: list[tuple[int, str]], skip_invalid: bool) -> list[Motif]:
    """Motifs of MEME minimal format: the preamble is checked for a DNA alphabet, then each MOTIF block is read."""
    blocks: list[list[tuple[int, str]]] = []
    for number, line in lines:
        if line.startswith("MOTIF"):
            blocks.append([])
        if blocks:
            blocks[-1].append((number, line))
        elif line.startswith("ALPHABET") and line.split("=", 1)[-1].strip() != LETTERS:
            raise InputError(f"{path}: line {number}: alphabet {line.strip()!r} is not DNA; only 'ALPHABET= ACGT' "
                             "motifs can be read")
    motifs = []
    for block in blocks:
        motif = _meme_motif(path, block, skip_invalid)
        if motif is not None:
            motifs.append(motif)
    return motifs


def _meme_motif(path, block: list[tuple[int, str]], skip_invalid: bool) -> Motif | None:
    motif_line, fields = block[0][0], block[0][1].split()
    if len(fields) < 2:
        raise InputError(f"{path}: line {motif_line}: a MOTIF line needs an id ('MOTIF <id> [<description>]')")
    name, description = fields[1], " ".join(fields[2:])
    where = f"{path}: motif {name!r}"
    header = next((index for index, (_, line) in enumerate(block) if line.startswith("letter-probability")), None)
    if header is None:
        raise InputError(f"{where} (line {motif_line}) has no 'letter-probability matrix:' line")
    header_line = block[header][0]
    keys = dict(_KEY_VALUE.findall(block[header][1].split(":", 1)[-1]))
    alength, width, nsites = (_header_number(where, header_line, keys, key) for key in ("alength", "w", "nsites"))
    if alength not in (None, 4):
        raise InputError(f"{where}: line {header_line}: alength= {alength}, but only DNA motifs (A C G T, alength= 4) "
                         "can be read")
    rows = []
    for number, line in block[header + 1:]:
        fields = line.split()
        if not fields:
            continue
        if not _is_number(fields[0]):
            break
        if len(fields) != 4:
            raise InputError(f"{where}: line {number}: {len(fields)} values where a letter-probability row has 4 "
                             "(A C G T)")
        rows.append((number, _numbers(where, number, fields)))
    if not rows:
        raise InputError(f"{where}: line {header_line}: no matrix rows follow the letter-probability matrix line")
    if width is not None and len(rows) != width:
        raise InputError(f"{where}: line {header_line}: w= {width} but {len(rows)} matrix rows follow; correct w= or "
                         "the rows")
    problem = _matrix_problem(rows, sums_to_one=True)
    if problem:
        return _invalid(f"{where}: {problem}", skip_invalid)
    return Motif(name, np.array([values for _, values in rows]), nsites or 0, description)


def _header_number(where: str, line: int, keys: dict, key: str) -> int | None:
    if key not in keys:
        return None
    try:
        value = float(keys[key])
    except ValueError:
        raise InputError(f"{where}: line {line}: {key}= {keys[key]!r} is not a number") from None
    if not (value >= 0 and value.is_integer()):
        raise InputError(f"{where}: line {line}: {key}= {keys[key]} is not a whole number of 0 or more")
    return int(value)


def _read_transfac(path, lines: list[tuple[int, str]], skip_invalid: bool) -> list[Motif]:
    """Motifs of TRANSFAC records; a record without AC, ID or matrix (e.g. a file's version header) is skipped."""
    motifs, record = [], _new_record()
    for number, line in lines:
        fields = line.split()
        if not fields:
            continue
        tag = fields[0]
        if tag == "//":
            motifs.append(_transfac_motif(path, record, skip_invalid))
            record = _new_record()
        elif tag in ("P0", "PO"):
            if record["header"] is not None:
                raise InputError(f"{path}: line {number}: a second matrix in one record; end the record with '//'")
            letters = [letter.upper() for letter in fields[1:]]
            if sorted(letters) != sorted(LETTERS):
                raise InputError(f"{path}: line {number}: matrix columns {' '.join(fields[1:])!r} are not A C G T; "
                                 "only DNA motifs can be read")
            record["header"], record["columns"], record["open"] = number, [letters.index(x) for x in LETTERS], True
        elif record["open"] and tag.isdigit():
            record["rows"].append((number, fields))
        else:
            record["open"] = False
            if tag in ("AC", "ID", "DE") and record[tag] is None and len(fields) > 1:
                record[tag] = (number, fields[1:])
    motifs.append(_transfac_motif(path, record, skip_invalid))
    return [motif for motif in motifs if motif is not None]


def _new_record() -> dict:
    return {"AC": None, "ID": None, "DE": None, "header": None, "columns": None, "open": False, "rows": []}


def _transfac_motif(path, record: dict, skip_invalid: bool) -> Motif | None:
    if record["header"] is None and record["AC"] is None and record["ID"] is None:
        return None
    if record["ID"] is not None:
        name = "_".join(record["ID"][1])
    elif record["AC"] is not None:
        name = record["AC"][1][0]
    else:
        raise InputError(f"{path}: line {record['header']}: the matrix's record has no ID or AC line; add one")
    where = f"{path}: motif {name!r}"
    if record["header"] is None:
        line = (record["ID"] or record["AC"])[0]
        raise InputError(f"{where} (line {line}) has no 'P0' matrix; give it one or remove the record")
    rows = []
    for number, fields in record["rows"]:
        letter = len(fields) == 6 and fields[5].isalpha()
        if len(fields) != 5 and not letter:
            raise InputError(f"{where}: line {number}: {len(fields) - 1} values after the position where a TRANSFAC "
                             "row has 4 counts (A C G T) and an optional consensus letter")
        if int(fields[0]) != len(rows) + 1:
            raise InputError(f"{where}: line {number}: position {fields[0]} where {len(rows) + 1} was expected")
        values = _numbers(where, number, fields[1:5])
        rows.append((number, [values[column] for column in record["columns"]]))
    if not rows:
        raise InputError(f"{where}: line {record['header']}: the matrix has no rows")
    problem = _matrix_problem(rows, sums_to_one=False)
    if problem:
        return _invalid(f"{where}: {problem}", skip_invalid)
    counts = np.array([values for _, values in rows])
    sums = counts.sum(axis=1)
    nsites = int(round(sums.max())) if sums.max() > 1 + ROW_SUM_TOLERANCE else 0
    description = " ".join(record["DE"][1]) if record["DE"] else (record["AC"][1][0] if record["AC"] else "")
    return Motif(name, counts, nsites, description)


def _numbers(where: str, number: int, fields: list[str]) -> list[float]:
    try:
        return [float(field) for field in fields]
    except ValueError:
        bad = next(field for field in fields if not _is_number(field))
        raise InputError(f"{where}: line {number}: {bad!r} is not a number") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _matrix_problem(rows: list[tuple[int, list[float]]], sums_to_one: bool) -> str | None:
    """What makes the rows no valid matrix (a negative or non-finite value; a row sum off 1, or of 0), or None."""
    for number, values in rows:
        if not all(math.isfinite(value) and value >= 0 for value in values):
            return f"line {number}: {' '.join(map(str, values))}: a matrix value is negative or not finite"
        total = sum(values)
        if sums_to_one and abs(total - 1) > ROW_SUM_TOLERANCE:
            return (f"line {number}: the row sums to {total:.4f}, not 1 (within {ROW_SUM_TOLERANCE}); a "
                    "letter-probability matrix holds probabilities, not counts")
        if total == 0:
            return f"line {number}: the row sums to 0"
    return None


def _invalid(message: str, skip_invalid: bool) -> None:
    if not skip_invalid:
        raise InputError(f"{message}; fix or remove the motif, or read with skip_invalid=True to leave it out")
    warnings.warn(f"{message}; motif left out", stacklevel=5)


def _background(background, where: str) -> np.ndarray:
    values = np.asarray(background, dtype=np.float64)
    if values.shape != (4,) or not (values > 0).all() or abs(values.sum() - 1) > 1e-6:
        raise InputError(f"{where}: the background must be four positive frequencies (A, C, G, T) summing to 1, "
                         f"not {background!r}")
    return values


@dataclass(frozen=True, eq=False)
class Motif:
    """A position matrix: ``counts`` has shape ``(width, 4)``, ``float64``, columns A, C, G, T, counts or
    probabilities (read-only); ``nsites`` is the number of sites behind it, 0 if unknown.

    Motifs compare by identity (an array has no single truth value); compare ``counts`` with numpy.
    """

    name: str
    counts: np.ndarray
    nsites: int = 0
    description: str = ""

    def __post_init__(self):
        counts = np.array(self.counts, dtype=np.float64)
        if not self.name:
            raise InputError("a motif needs a name")
        if counts.ndim != 2 or counts.shape[1] != 4 or counts.shape[0] == 0:
            raise InputError(f"motif {self.name!r}: counts must have shape (width, 4), columns A C G T, not "
                             f"{counts.shape}")
        if not (np.isfinite(counts).all() and (counts >= 0).all()):
            raise InputError(f"motif {self.name!r}: counts must be finite and 0 or more")
        if self.nsites < 0:
            raise InputError(f"motif {self.name!r}: nsites must be 0 (unknown) or more, not {self.nsites}")
        counts.setflags(write=False)
        object.__setattr__(self, "counts", counts)

    @property
    def width(self) -> int:
        return self.counts.shape[0]


def motif_matrix(path, name: str) -> np.ndarray:
    """Probabilities ``(width, 4)`` of the motif ``name`` of a MEME or TRANSFAC file."""
    motifs = read_motifs(path)
    for motif in motifs:
        if motif.name == name:
            return probabilities(motif)
    names = [motif.name for motif in motifs]
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    raise InputError(f"{path}: no motif named {name!r}; give --motif-name one of {shown}")
