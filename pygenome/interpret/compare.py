"""Comparison of motifs with known motifs by Tomtom (Gupta et al. 2007, Genome Biol 8:R24), as memelite implements it.

memelite's ``tomtom`` scores each aligned pair of columns by minus their Euclidean distance (MEME's default, ``-dist
ed``), with Tomtom's complete scores (an unaligned query column scores the median of its scores against all target
columns), every offset allowed (minimum overlap 1), and no pseudocount. A target is tried on both strands; its p-value
is the best strand's ``p`` corrected for two tries, ``1 - (1 - p)^2``, and its strand, offset and overlap are those of
the higher-scoring strand (the reverse one on a tie). The null distribution is built from the target columns, so a
p-value depends on the whole target set: memelite warns below 25 targets (MEME's tomtom below 50).

q-values here are Benjamini–Hochberg over each query's p-values against every target of one database (pi0 = 1). MEME's
documentation describes its q-values as Benjamini–Hochberg, but its code (``src/tomtom.c``: ``convert_tomtom_p_to_q``)
estimates pi0 (Storey's method, pi0 <= 1) over each query's 2 × N strand-specific p-values, pooled over all target
databases; with pi0 < 1 that gives smaller q-values than plain Benjamini–Hochberg, so ours are the conservative side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from memelite import tomtom

from pygenome.errors import InputError
from pygenome.interpret.stats import benjamini_hochberg
from pygenome.io.motifs import Motif, probabilities, read_motifs

COLUMNS = ["query", "database", "target", "target_description", "p_value", "q_value", "offset", "overlap", "strand"]


def empty_matches() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in zip(
        COLUMNS, ["object", "object", "object", "object", "float64", "float64", "int64", "int64", "object"])})


def compare(queries: list[Motif], targets: list[Motif], database: str) -> pd.DataFrame:
    """Every query against every target of ``database`` (a label, e.g. ``"dbtbs"``): one row per (query, target).

    Columns (:data:`COLUMNS`): ``query``, ``database``, ``target``, ``target_description``, ``p_value``,
    ``q_value`` (see the module), ``offset`` (the target column, on the matched strand, that the query's first
    column faces; negative when the query starts before the target: MEME's ``Optimal_offset``), ``overlap``
    (aligned columns) and ``strand`` ("+" for the target as given, "-" for its reverse complement). Rows come in
    query order (as given), then by increasing p-value, then in target order. Motifs are compared as probabilities
    (:func:`~pygenome.io.motifs.probabilities`, no pseudocount) on one thread, so results are reproducible.
    No queries give an empty table; duplicate query names or no targets raise :class:`InputError`.
    """
    if not queries:
        return empty_matches()
    if not targets:
        raise InputError(f"database {database!r} has no target motifs to compare with")
    names = [query.name for query in queries]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputError(f"query motif names must be unique; {', '.join(duplicates)} occur more than once")
    p_values, _, offsets, overlaps, strands = tomtom([probabilities(query).T for query in queries],
                                                     [probabilities(target).T for target in targets], n_jobs=1)
    n_queries, n_targets = p_values.shape
    matches = pd.DataFrame({
        "query": np.repeat(names, n_targets),
        "database": database,
        "target": np.tile([target.name for target in targets], n_queries),
        "target_description": np.tile([target.description for target in targets], n_queries),
        "p_value": p_values.ravel(),
        "q_value": np.concatenate([benjamini_hochberg(row) for row in p_values]),
        "offset": offsets.ravel().astype(np.int64),
        "overlap": overlaps.ravel().astype(np.int64),
        "strand": np.where(strands.ravel() == 1, "-", "+"),
        "_query": np.repeat(np.arange(n_queries), n_targets),
    })
    matches = matches.sort_values(["_query", "p_value"], kind="stable").drop(columns="_query")
    return matches.reset_index(drop=True).astype({column: object for column in ("query", "database", "target",
                                                                               "target_description", "strand")})


def best_matches(matches: pd.DataFrame, q_threshold: float = 0.05) -> pd.DataFrame:
    """The best target (smallest p-value; the first listed on a tie) of each (query, database) among the rows of
    :func:`compare` tables with ``q_value <= q_threshold``: one row per pair that has one, in order of first
    appearance, with the columns of ``matches``."""
    significant = matches[matches["q_value"] <= q_threshold].reset_index(drop=True)
    best = significant.groupby(["query", "database"], sort=False)["p_value"].idxmin()
    return significant.loc[best.to_numpy()].reset_index(drop=True)


def false_match_rate(matches: pd.DataFrame, q_threshold: float = 0.05) -> float:
    """Fraction of the queries in ``matches`` with at least one target at ``q_value <= q_threshold``; NaN for none.

    Against a decoy database (e.g. eukaryotic JASPAR for prokaryotic motifs) every such match is false.
    """
    queries = matches["query"].nunique()
    if not queries:
        return float("nan")
    return matches.loc[matches["q_value"] <= q_threshold, "query"].nunique() / queries


def best_known_matches(matches: pd.DataFrame, q_threshold: float = 0.05) -> pd.DataFrame:
    """The best known match of each query over every database: among its :func:`best_matches` the smallest p-value
    (the first database on a tie). Indexed by query, with the other columns of ``matches``."""
    best = best_matches(matches, q_threshold).sort_values("p_value", kind="stable")
    return best.drop_duplicates("query").set_index("query")


def with_best_known_match(table: pd.DataFrame, column: str, best: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the :func:`best_known_matches` ``best`` of the motif named in each row's ``column``:
    ``best_match``, ``best_match_database``, ``best_match_q`` (empty where it has none)."""
    table = table.copy()
    for name, source in (("best_match", "target"), ("best_match_database", "database"), ("best_match_q", "q_value")):
        table[name] = table[column].map(best[source]) if len(best) else None
    return table


def with_best_known_matches(table: pd.DataFrame, column: str, motifs: list[Motif], databases,
                            q_threshold: float = 0.05) -> pd.DataFrame:
    """:func:`with_best_known_match` of ``motifs`` matched against every database of ``databases`` (MEME/TRANSFAC
    paths, each named by its file name up to the first dot)."""
    matches = [compare(motifs, read_motifs(path, skip_invalid=True), Path(path).name.split(".")[0])
               for path in databases] if motifs else []
    best = best_known_matches(pd.concat(matches, ignore_index=True), q_threshold) if matches else pd.DataFrame()
    return with_best_known_match(table, column, best)
