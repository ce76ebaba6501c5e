"""Sites: single-nucleotide, stranded positions (e.g. transcription start sites) as a table, BED in and out.

A site table is a ``pandas.DataFrame`` with one row per site and the columns of :data:`COLUMNS`: ``contig``,
``position`` (0-based, forward-strand coordinate of the site's nucleotide), ``strand`` ("+" or "-"), ``name``,
``score``, ``source`` ("called" from a read signal, or "known" from a BED), ``count`` (5'-end reads at the site),
``control`` (reads of the control library there) and ``log2_enrichment``.

Calling sites from a 5'-end signal: a position is a site when

1. its count is at least ``min_count``;
2. it is a local maximum of its strand's signal: strictly greater than every position up to ``distance`` nt to its
   left and at least every position up to ``distance`` nt to its right (so a cluster of nearby starts gives one site,
   its strongest position, the leftmost of equals); the window wraps around the origin of a circular contig;
3. with a control library (e.g. TEX− beside TEX+ in dRNA-seq, or untreated beside capped-enriched in Cappable-seq), its
   enrichment ``((count + p) / N) / ((control + p) / M)`` is at least ``min_enrichment``, where ``N`` and ``M`` are the
   reads used from each library and ``p`` the pseudocount; the site's ``log2_enrichment`` is the log2 of that ratio.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from pygenome.errors import InputError
from pygenome.io.outputs import atomic_outputs
from pygenome.io.tracks import STRANDS, check_same_genome, load_track

COLUMNS = ["contig", "position", "strand", "name", "score", "source", "count", "control", "log2_enrichment"]
BED_HEADER = "#contig\tstart\tend\tname\tscore\tstrand\tsource\tcount\tcontrol\tlog2_enrichment\n"


def site_table(contig, position, strand, source: str, score=np.nan, count=np.nan, control=np.nan,
               log2_enrichment=np.nan, name="") -> pd.DataFrame:
    """A site table (:data:`COLUMNS`) of the sites given: ``position`` an array ``(N,)`` (0-based, forward), each
    other field an array ``(N,)`` or one value for all."""
    return pd.DataFrame({"contig": contig, "position": position, "strand": strand, "name": name, "score": score,
                         "source": source, "count": count, "control": control, "log2_enrichment": log2_enrichment})


def empty_sites() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in zip(
        COLUMNS, ["object", "int64", "object", "object", "float64", "object", "float64", "float64", "float64"])})


def call_sites(contig: str, signal: np.ndarray, circular: bool, min_count: int = 5, distance: int = 10,
               control: np.ndarray | None = None, library_sizes: tuple[int, int] | None = None,
               min_enrichment: float = 2.0, pseudocount: float = 1.0) -> pd.DataFrame:
    """Sites of one contig from its 5'-end ``signal`` (shape ``(2, length)``); see the module's rules.

    ``control`` (same shape) and ``library_sizes`` (reads used in the signal's and the control's library) turn on the
    enrichment test.
    """
    if min_count < 1:
        raise InputError(f"min_count must be at least 1, not {min_count}")
    if distance < 0:
        raise InputError(f"distance must be 0 or more, not {distance}")
    tables = []
    for row, strand in enumerate("+-"):
        values = signal[row].astype(np.int64)
        positions = local_maxima(values, min_count, distance, circular)
        counts = values[positions].astype(float)
        if control is not None:
            treated_size, control_size = library_sizes
            controls = control[row, positions].astype(float)
            ratio = ((counts + pseudocount) / max(treated_size, 1)) / ((controls + pseudocount) / max(control_size, 1))
            enriched = ratio >= min_enrichment
            positions, counts, controls, log2 = positions[enriched], counts[enriched], controls[enriched], \
                np.log2(ratio[enriched])
        else:
            controls = log2 = np.full(positions.size, np.nan)
        tables.append(site_table(contig, positions, strand, "called", score=counts, count=counts, control=controls,
                                 log2_enrichment=log2))
    return sort_sites(pd.concat(tables, ignore_index=True))


def local_maxima(values: np.ndarray, minimum: float, distance: int, circular: bool) -> np.ndarray:
    """Positions (sorted) whose value is at least ``minimum`` and strictly greater than every value up to
    ``distance`` positions to the left and at least every value up to ``distance`` to the right (the leftmost of a
    plateau); the neighbourhood wraps around on a circular sequence. ``values``: shape ``(length,)``."""
    values = np.asarray(values, dtype=np.float64)
    length = values.size
    candidates = np.flatnonzero(values >= minimum)
    own = values[candidates]
    keep = np.ones(candidates.size, dtype=bool)
    for offset in range(1, distance + 1):  # one neighbour at a time: memory stays O(candidates)
        for neighbours, strict in ((candidates - offset, True), (candidates + offset, False)):
            if circular:
                neighbour_values = values[neighbours % length]
            else:
                inside = (neighbours >= 0) & (neighbours < length)
                neighbour_values = np.where(inside, values[np.clip(neighbours, 0, length - 1)], -np.inf)
            keep &= own > neighbour_values if strict else own >= neighbour_values
    return candidates[keep]


def sort_sites(sites: pd.DataFrame, contig_order=None) -> pd.DataFrame:
    """Sites ordered by contig (in ``contig_order``, else as they come), position and strand; unnamed ones named
    ``<contig>:<position, 1-based><strand>``."""
    sites = sites.copy()
    order = list(contig_order) if contig_order is not None else list(dict.fromkeys(sites["contig"]))
    sites["_rank"] = sites["contig"].map({name: rank for rank, name in enumerate(order)})
    sites = sites.sort_values(["_rank", "position", "strand", "source"], kind="stable").drop(columns="_rank")
    unnamed = sites["name"].fillna("").eq("")
    sites.loc[unnamed, "name"] = (sites["contig"] + ":" + (sites["position"] + 1).astype(str) + sites["strand"])[
        unnamed]
    return sites.reset_index(drop=True)[COLUMNS]


def read_sites_bed(path, genome) -> pd.DataFrame:
    """Known sites from a BED file (BED3 to BED12, optional ``track``/``browser``/``#`` lines).

    The site of an interval is its 5' end on its strand: ``start`` for "+", ``end - 1`` for "-"; an interval without
    strand ("." or no column 6) gives a site on each strand at ``start``. Raises :class:`InputError` naming the line
    for a contig the genome lacks, coordinates outside the contig, or a malformed line.
    """
    lengths = {contig.name: contig.length for contig in genome.contigs}
    rows = []
    for number, fields in _bed_lines(path):
        contig, start, end = _interval(path, number, fields, lengths)
        name = fields[3] if len(fields) > 3 and fields[3] not in ("", ".") else ""
        score = _float(fields[4]) if len(fields) > 4 else np.nan
        strand = fields[5] if len(fields) > 5 else "."
        if strand not in ("+", "-", "."):
            raise InputError(f"{path}: line {number}: strand {strand!r} is not +, - or .")
        for site_strand in ("+-" if strand == "." else strand):
            position = end - 1 if site_strand == "-" and strand == "-" else start
            rows.append((contig, position, site_strand, name, score, "known", np.nan, np.nan, np.nan))
    sites = pd.DataFrame(rows, columns=COLUMNS) if rows else empty_sites()
    return sort_sites(sites, [contig.name for contig in genome.contigs])


def read_intervals(path, genome) -> pd.DataFrame:
    """The intervals of a BED or narrowPeak file as ``contig``, ``start``, ``end`` (0-based, half-open), checked
    against the genome like :func:`read_sites_bed`."""
    lengths = {contig.name: contig.length for contig in genome.contigs}
    rows = [_interval(path, number, fields, lengths) for number, fields in _bed_lines(path)]
    return pd.DataFrame(rows, columns=["contig", "start", "end"]).astype({"start": "int64", "end": "int64"})


def _bed_lines(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                yield number, line.rstrip("\n").split("\t")
    except FileNotFoundError:
        raise InputError(f"{path}: BED file not found") from None
    except (UnicodeDecodeError, OSError) as error:
        raise InputError(f"{path}: not a readable text or gzip BED file ({error})") from None


def _interval(path, number: int, fields: list[str], lengths: dict) -> tuple[str, int, int]:
    if len(fields) < 3:
        raise InputError(f"{path}: line {number}: a BED line needs tab-separated contig, start and end; got "
                         f"{len(fields)} field(s)")
    contig = fields[0]
    try:
        start, end = int(fields[1]), int(fields[2])
    except ValueError:
        header = " (a header line? start it with '#')" if not any(c.isdigit() for c in fields[1] + fields[2]) else ""
        raise InputError(f"{path}: line {number}: start and end must be integers, got {fields[1]!r}, "
                         f"{fields[2]!r}{header}") from None
    if contig not in lengths:
        raise InputError(f"{path}: line {number}: contig {contig!r} is not in the genome (which has "
                         f"{', '.join(lengths)}); use the genome the BED was made for, or rename the contig")
    if not 0 <= start < end <= lengths[contig]:
        raise InputError(f"{path}: line {number}: interval {start}-{end} is not within {contig} (0-{lengths[contig]}, "
                         "0-based half-open); BED coordinates are 0-based: is this file 1-based?")
    return contig, start, end


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return np.nan


def write_sites_bed(sites: pd.DataFrame, path) -> None:
    """Sites as BED6+4 (header line ``#contig start end name score strand source count control log2_enrichment``)."""
    with atomic_outputs(path) as (temp,), open(temp, "w") as out:
        out.write(BED_HEADER)
        for site in sites.itertuples(index=False):
            values = (site.contig, site.position, site.position + 1, site.name, _number(site.score), site.strand,
                      site.source, _number(site.count), _number(site.control), _number(site.log2_enrichment, 4))
            out.write("\t".join(map(str, values)) + "\n")


def _number(value: float, digits: int = 6) -> str:
    if pd.isna(value):
        return "."
    return str(int(value)) if float(value).is_integer() else f"{value:.{digits}g}"


def site_labels(sites: pd.DataFrame, contig: str, length: int) -> np.ndarray:
    """Per-nucleotide labels of one contig: shape ``(2, length)``, ``uint8``, 1 at the sites, 0 elsewhere."""
    labels = np.zeros((2, length), dtype=np.uint8)
    on_contig = sites[sites["contig"] == contig]
    labels[(on_contig["strand"] == "-").to_numpy(int), on_contig["position"].to_numpy(np.int64)] = 1
    return labels


def fraction_near(query: pd.DataFrame, target: pd.DataFrame, distance: int) -> float:
    """Fraction of ``query`` sites with a ``target`` site on the same contig and strand within ``distance`` nt
    (positions compared in forward coordinates, not across the origin); NaN for no query sites."""
    if not len(query):
        return float("nan")
    hits = 0
    for (contig, strand), group in query.groupby(["contig", "strand"]):
        positions = target.loc[(target["contig"] == contig) & (target["strand"] == strand), "position"].to_numpy()
        if positions.size:
            nearest = distance_to_nearest(group["position"].to_numpy(), positions)
            hits += int((nearest <= distance).sum())
    return hits / len(query)


CONTROL_EXCLUSION = 100  # nt between a control and any query site on the same strand


def control_queries(genome, names, sites: pd.DataFrame, count: int, seed: int, at_most: bool = False) -> pd.DataFrame:
    """``count`` random positions of the contigs ``names`` (uniform over both strands of all of them, without
    replacement), each more than ``CONTROL_EXCLUSION`` nt from every site of ``sites`` on its strand (around the
    origin of circular contigs), as a site table of source "control" in genome order; reproducible from ``seed``.
    Fewer places than ``count`` are an error, or with ``at_most`` all there are (a small contig crowded with sites)."""
    if count < 0:
        raise InputError(f"the number of attention controls must be 0 or more, not {count}")
    lengths = np.array([genome.contig(name).length for name in names], dtype=np.int64)
    ends = np.cumsum(2 * lengths)
    places = int(ends[-1])
    for size in dict.fromkeys((min(places, 4 * count + 1000), places)):  # every place, where a sample is too few
        draws = np.random.default_rng(seed).choice(places, size=size, replace=False)
        index = np.searchsorted(ends, draws, side="right")
        offset = draws - (ends[index] - 2 * lengths[index])
        strand = np.where(offset < lengths[index], "+", "-")
        position = offset % lengths[index]
        far = np.ones(draws.size, dtype=bool)
        for (contig, site_strand), group in sites.groupby(["contig", "strand"]):
            if contig not in names:
                continue
            members = (index == names.index(contig)) & (strand == site_strand)
            record = genome.contig(contig)
            far[members] = distance_to_nearest(position[members], group["position"].to_numpy(np.int64),
                                               record.length if record.circular else None) > CONTROL_EXCLUSION
        if far.sum() >= count:
            break
    kept = np.flatnonzero(far)[:count]
    if kept.size < count and not at_most:
        raise InputError(f"could not place {count} attention controls more than {CONTROL_EXCLUSION} nt from every "
                         f"query site on {', '.join(names)}; ask for fewer with --attention-controls")
    table = site_table(np.asarray(names, dtype=object)[index[kept]], position[kept], strand[kept], "control")
    return sort_sites(table if len(table) else empty_sites(), names)


def distance_to_nearest(positions: np.ndarray, sites: np.ndarray, circular_length: int | None = None) -> np.ndarray:
    """nt ``(N,)`` from each of ``positions`` ``(N,)`` to the nearest of ``sites`` (both forward, 0-based; inf without
    sites), around the origin of a circular contig of ``circular_length`` nt (None: a linear one)."""
    sites = np.sort(sites).astype(np.float64)
    if circular_length:  # copies one turn before and after make the nearest site around the origin ordinary
        sites = np.concatenate([sites - circular_length, sites, sites + circular_length])
    sites = np.concatenate([[-np.inf], sites, [np.inf]])
    after = np.searchsorted(sites, positions)
    return np.minimum(positions - sites[after - 1], sites[after] - positions)


def query_sites(source, genome, names, what: str = "sites: give a BED file or a label track") -> pd.DataFrame:
    """Query sites from a BED file or a label track (every labelled position), on the contigs ``names``; ``what``
    ends the error for a ``source`` that is no file."""
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{source}: not found; {what}")
    if path.name.endswith(".track.npz"):
        labels = load_track(path)
        check_same_genome(labels, genome, str(path))
        tables = [site_table(name, np.flatnonzero(array[row]), strand, "known")
                  for name, array in labels.arrays.items() if name in names for row, strand in enumerate(STRANDS)]
        table = pd.concat(tables, ignore_index=True) if tables else empty_sites()
        return sort_sites(table if len(table) else empty_sites(), names)
    sites = read_sites_bed(path, genome)
    return sites[sites["contig"].isin(names)].reset_index(drop=True)
