"""Transcription start sites classed by the genes around them, as TSSpredator defines the classes (Dugar et al. 2013,
PLoS Genet 9:e1003495; Sharma et al. 2010, Nature 464:250):

- **primary**: on a gene's strand, at most ``utr_length`` nt upstream of its start (or at it); of the sites of one
  gene the one of highest score (ties: the nearest) — the others are **secondary**;
- **internal**: inside a gene on its strand (past its first base);
- **antisense**: on the other strand, inside a gene or within ``antisense_distance`` nt of it;
- **orphan**: none of these.

A site can be of several classes (a primary site inside the gene before is internal too), so each class is a 0/1
column, and ``class`` is the first that applies in the order of :data:`CLASSES`. The gene named with a site is that
of its class: for primary and secondary the nearest gene start downstream within the window (one gene per site),
with ``utr_length`` (nt from the site to the first base of the gene); for internal and antisense the gene around it
(the one reaching furthest). ``leaderless``: a primary or secondary site at most :data:`LEADERLESS_UTR` nt before its
gene's start, whose mRNA starts at (or next to) the start codon. Coordinates are forward, 0-based; on a circular
contig genes and windows reach across the origin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLASSES = ("primary", "secondary", "internal", "antisense", "orphan")
UTR_LENGTH = 300  # nt: TSSpredator's default upstream window of primary and secondary sites
ANTISENSE_DISTANCE = 100  # nt: TSSpredator's default reach of antisense sites beyond a gene
LEADERLESS_UTR = 5  # nt: a 5' UTR this short or shorter is leaderless (translation starts at the mRNA's 5' end)
CLASS_COLUMNS = ["class", *CLASSES, "gene", "locus_tag", "product", "gene_start", "gene_end", "gene_strand",
                 "utr_length", "leaderless"]


def classify_sites(sites: pd.DataFrame, genes: pd.DataFrame, genome, utr_length: int = UTR_LENGTH,
                   antisense_distance: int = ANTISENSE_DISTANCE) -> pd.DataFrame:
    """``sites`` (a site table: ``contig``, ``position``, ``strand``, ``score``) with the :data:`CLASS_COLUMNS`
    added, in the same order; ``genes``: a gene table (:mod:`pygenome.io.annotation`) of ``genome``."""
    table = sites.reset_index(drop=True).copy()
    n = len(table)
    found = {name: np.zeros(n, dtype=bool) for name in CLASSES}
    upstream = np.full(n, -1)  # the gene row a site is upstream of, and the UTR length
    utr = np.full(n, -1, dtype=np.int64)
    inside = np.full(n, -1)
    opposite = np.full(n, -1)
    for contig in genome.contigs:
        length = contig.length
        for strand in "+-":
            rows = np.flatnonzero(((table["contig"] == contig.name) & (table["strand"] == strand)).to_numpy())
            if not rows.size:
                continue
            position = table.loc[rows, "position"].to_numpy(np.int64)
            same = _genes_of(genes, contig.name, strand, length, contig.circular)
            other = _genes_of(genes, contig.name, "-" if strand == "+" else "+", length, contig.circular)
            gene, distance = _nearest_start_downstream(position, same, strand, utr_length)
            upstream[rows], utr[rows] = gene, distance
            sense = same.assign(start=same["start"] + (strand == "+"), end=same["end"] - (strand == "-"))
            inside[rows] = _covering(position, sense)
            opposite[rows] = _covering(position, other.assign(start=other["start"] - antisense_distance,
                                                              end=other["end"] + antisense_distance))
    near = upstream >= 0
    order = pd.DataFrame({"gene": upstream, "score": table["score"].fillna(0).to_numpy(float), "utr": utr})[near]
    first = order.sort_values(["gene", "score", "utr"], ascending=[True, False, True], kind="stable").groupby(
        "gene").head(1).index
    found["primary"][first] = True
    found["secondary"][near & ~found["primary"]] = True
    found["internal"] = inside >= 0
    found["antisense"] = opposite >= 0
    found["orphan"] = ~(near | found["internal"] | found["antisense"])
    chosen = np.select([near, inside >= 0, opposite >= 0], [upstream, inside, opposite], -1)
    names = np.select([found[name] for name in CLASSES], CLASSES, "orphan")
    for name in CLASSES:
        table[name] = found[name].astype(np.int8)
    table.insert(table.columns.get_loc(CLASSES[0]), "class", names)
    known = chosen >= 0
    gene_rows = genes.iloc[np.where(known, chosen, 0)].reset_index(drop=True) if len(genes) else None
    for column, source in (("gene", "gene"), ("locus_tag", "locus_tag"), ("product", "product"),
                           ("gene_start", "start"), ("gene_end", "end"), ("gene_strand", "strand")):
        values = gene_rows[source].to_numpy(object) if gene_rows is not None else np.full(n, None, dtype=object)
        table[column] = np.where(known, values, None)
    table["utr_length"] = pd.Series(np.where(near, utr, 0), dtype="Int64").where(near)
    table["leaderless"] = (near & (utr <= LEADERLESS_UTR)).astype(np.int8)
    return table


def class_counts(classified: pd.DataFrame) -> dict:
    """Sites per class (``class``: each site once, by its first class) and with each class at all (``any``), and
    the leaderless ones."""
    return {"sites": len(classified),
            "class": {name: int((classified["class"] == name).sum()) for name in CLASSES},
            "any": {name: int(classified[name].sum()) for name in CLASSES},
            "leaderless": int(classified["leaderless"].sum())}


def _genes_of(genes: pd.DataFrame, contig: str, strand: str, length: int, circular: bool) -> pd.DataFrame:
    """The genes of one contig and strand, keeping their row numbers (``row``), with copies one turn before and
    after on a circular contig."""
    mask = ((genes["contig"] == contig) & (genes["strand"] == strand)).to_numpy()
    chosen = pd.DataFrame({"row": np.flatnonzero(mask), "start": genes["start"].to_numpy(np.int64)[mask],
                           "end": genes["end"].to_numpy(np.int64)[mask]})
    if circular:
        chosen = pd.concat([chosen.assign(start=chosen["start"] + shift, end=chosen["end"] + shift)
                            for shift in (-length, 0, length)], ignore_index=True)
    return chosen


def _nearest_start_downstream(position: np.ndarray, genes: pd.DataFrame, strand: str, window: int):
    """Per position (on ``strand``), the gene row whose first base lies 0..``window`` nt downstream of it and nearest,
    and that distance; -1 and -1 where none."""
    if not len(genes):
        return np.full(position.size, -1), np.full(position.size, -1, dtype=np.int64)
    sign = 1 if strand == "+" else -1
    starts = sign * (genes["start"].to_numpy() if strand == "+" else genes["end"].to_numpy() - 1)
    order = np.argsort(starts, kind="stable")
    starts, rows = starts[order], genes["row"].to_numpy()[order]
    here = sign * position
    index = np.searchsorted(starts, here, side="left")
    ok = index < starts.size
    distance = np.where(ok, starts[np.minimum(index, starts.size - 1)] - here, -1)
    ok &= distance <= window
    return np.where(ok, rows[np.minimum(index, starts.size - 1)], -1), np.where(ok, distance, -1)


def _covering(position: np.ndarray, intervals: pd.DataFrame) -> np.ndarray:
    """Per position, the row of an interval ``start <= position < end`` that covers it (the one reaching furthest
    among those starting at or before it), or -1."""
    if not len(intervals):
        return np.full(position.size, -1)
    order = np.argsort(intervals["start"].to_numpy(), kind="stable")
    starts = intervals["start"].to_numpy()[order]
    ends = intervals["end"].to_numpy()[order]
    reach = np.maximum.accumulate(ends)
    holder = order[_running_argmax(ends)]
    index = np.searchsorted(starts, position, side="right") - 1
    valid = index >= 0
    covered = valid & (reach[np.maximum(index, 0)] > position)
    return np.where(covered, intervals["row"].to_numpy()[holder[np.maximum(index, 0)]], -1)


def _running_argmax(values: np.ndarray) -> np.ndarray:
    """Index of the running maximum of ``values`` (the first that reached it)."""
    best = np.maximum.accumulate(values)
    changed = np.r_[True, best[1:] > best[:-1]]
    return np.maximum.accumulate(np.where(changed, np.arange(values.size), 0))
