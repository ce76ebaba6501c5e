"""The motifs step: attention at sites → each head's profile, peaks, motif, its enrichment and its known matches.

Inputs, per genome: an id, its FASTA and the attention files ``pygenome predict`` wrote for it (one per contig run,
say), all from one model. For every layer and head:

1. the profile at sites against controls and its peaks (:mod:`pygenome.interpret.profiles`);
2. for the strongest peak, the motif under the keys the sites attend to most (:mod:`pygenome.interpret.extract`);
3. its enrichment near sites against controls (:mod:`pygenome.interpret.enrichment`), cross-fitted so that no site
   tests the motif it helped build: sites and controls are split in two folds by rank, and each fold is scanned
   with the motif built from the other fold's sites; Benjamini–Hochberg over the heads of a genome;
4. Tomtom against each motif database given and the decoy (:mod:`pygenome.interpret.compare`).

With several genomes, head motifs are grouped by similarity across genomes (:mod:`pygenome.interpret.recurrence`).
Outputs in ``outdir``, named after ``prefix``: ``heads.tsv`` (a row per genome and head), ``profiles.tsv`` (a row
per genome, head and offset), ``peaks.tsv`` (every peak), ``motifs.meme`` (the head motifs, counts as ``nsites``),
``matches.tsv`` (the five best targets per head motif and database), ``recurrence.tsv`` (with several genomes),
``motifs.json`` (settings and summary) and the folder ``figures/`` (per head: profile PNG, logo PNG and SVG;
``recurrence.png``). Background base frequencies are the genome's, both strands counted.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.interpret import logos
from pygenome.interpret.compare import (
    best_known_matches,
    compare,
    empty_matches,
    false_match_rate,
    with_best_known_match,
)
from pygenome.interpret.composition import base_composition, column_information, log_odds
from pygenome.interpret.enrichment import best_scores, fisher_enrichment, score_threshold
from pygenome.interpret.extract import frequency_matrix, key_windows, top_keys, trim
from pygenome.interpret.motif_settings import MotifSettings
from pygenome.interpret.profiles import add_significance, head_profile, peaks
from pygenome.interpret.recurrence import groups
from pygenome.interpret.stats import benjamini_hochberg
from pygenome.io.attention import load_attention
from pygenome.io.genome import read_genome
from pygenome.io.layout import file_keys, suffixes
from pygenome.io.motifs import Motif, consensus, read_motifs, write_meme
from pygenome.io.outputs import atomic_outputs, write_json

HEAD_COLUMNS = ["genome", "head_id", "layer", "head", "peak", "peak_offset", "peak_start", "peak_end", "peak_width",
                "peak_excess", "site_mean", "control_mean", "motif", "consensus", "motif_start", "motif_end", "width",
                "information_content", "sites_used", "sites_with", "sites", "controls_with", "controls", "odds_ratio",
                "p_value", "q_value", "reported", "best_match", "best_match_database", "best_match_q", "decoy_best_q"]
MATCHES_KEPT = 5
PROFILE_COLUMNS = ["genome", "head_id", "layer", "head", "offset", "site_mean", "site_low", "site_high", "control_mean",
                   "control_low", "control_high", "p_value", "q_value", "significant"]
MIN_QUERIES = 2  # site and control queries a genome needs for its heads' profiles
COMPARED_AT_ONCE = 64  # head motifs per Tomtom call (its table has a row per motif and target: cut as it comes)


@dataclass
class GenomeAttention:
    """The attention files of one genome, pooled: ``weights`` ``(N, layers, heads, keys)`` float16, ``queries`` (the
    query table), ``offset`` ``(keys,)``, the model's architecture and the genome's sequences and topology."""

    genome_id: str
    weights: np.ndarray
    queries: pd.DataFrame
    offset: np.ndarray
    model: dict
    codes: dict
    circular: dict
    background: np.ndarray


def read_genome_attention(genome_id: str, fasta, attention_paths) -> GenomeAttention:
    """Pool the attention files of one genome, checking they come from one model and match the FASTA."""
    if not attention_paths:
        raise InputError(f"genome {genome_id}: no attention files given")
    files = [load_attention(path) for path in attention_paths]
    first = files[0]
    genome = read_genome(fasta)
    for path, file in zip(attention_paths, files):
        if file.meta["model"] != first.meta["model"]:
            raise InputError(f"{path}: made by another model than {attention_paths[0]}; give the attention files of "
                             "one model per run")
        if file.meta["genome"]["checksum"] != genome.checksum:
            raise InputError(f"{path}: predicted on another genome than {fasta} (checksums differ); give each genome "
                             "its own FASTA and attention files")
    queries = pd.concat([file.queries for file in files], ignore_index=True)
    duplicated = queries.duplicated(["contig", "position", "strand", "query"])
    if duplicated.any():
        row = queries[duplicated].iloc[0]
        raise InputError(f"genome {genome_id}: the query {row.contig}:{row.position + 1}{row.strand} is in more than "
                         "one attention file; give each contig's file once")
    background = base_composition(genome.codes.values())
    circular = {contig["name"]: contig["circular"] for contig in first.meta["genome"]["contigs"]}
    return GenomeAttention(genome_id, np.concatenate([file.weights for file in files]), queries, first.offset,
                           first.meta["model"], genome.codes, circular, background)


def analyse_head(data: GenomeAttention, layer: int, head: int, profile: pd.DataFrame, settings: MotifSettings):
    """One head: its peaks, and per peak (the ``max_peaks`` strongest) a row of ``heads.tsv`` (without q-value and
    matches) and the motif counts ``(width, 4)`` or None; a head without peaks gets one row without a peak."""
    head_peaks = peaks(profile)
    sites = (data.queries["query"] == "site").to_numpy()
    head_row = {"genome": data.genome_id, "head_id": f"L{layer + 1}H{head + 1}", "layer": layer + 1,
                "head": head + 1, "sites": int(sites.sum()), "controls": int((~sites).sum())}
    if not len(head_peaks):
        return head_peaks, [(head_row, None)]
    site_weights = data.weights[sites, layer, head].astype(np.float32)
    control_weights = data.weights[~sites, layer, head].astype(np.float32)
    results = []
    for rank, peak in head_peaks.head(settings.max_peaks).iterrows():
        row = head_row | {
            "peak": rank + 1, "peak_offset": int(peak["summit"]), "peak_start": int(peak["start"]),
            "peak_end": int(peak["end"]), "peak_width": int(peak["width"]), "peak_excess": float(peak["excess"]),
            "site_mean": float(peak["site_mean"]), "control_mean": float(peak["control_mean"])}
        counts = peak_motif(data, site_weights, control_weights, row, settings)
        results.append((row, counts))
    return head_peaks, results


def peak_motif(data: GenomeAttention, site_weights, control_weights, row: dict, settings: MotifSettings):
    """The motif under one peak (``row``: its fields, completed here with the motif's and its enrichment's) or
    None. ``site_weights`` ``(sites, keys)`` and ``control_weights`` ``(controls, keys)``: the head's attention."""
    rule = settings.rule
    sites = (data.queries["query"] == "site").to_numpy()
    start, end = row["peak_start"] - rule.margin, row["peak_end"] + rule.margin
    keys, used = top_keys(site_weights, control_weights, data.offset, start, end, rule.quantile)
    site_table, control_table = data.queries[sites], data.queries[~sites]
    kernel = data.model["conv_kernel"]
    windows = key_windows(data.codes, data.circular, site_table["contig"], site_table["position"],
                          site_table["strand"], keys, kernel, rule.flank)
    counts = frequency_matrix(windows[used])
    kept = trim(counts, data.background, rule.min_information)
    row["sites_used"] = int(used.sum())
    counts = counts[kept]
    information = float(column_information(counts, data.background).sum()) if len(counts) else 0.0
    if len(counts) < rule.min_width or information < rule.min_total_information:
        return None
    first = int(np.median(keys[used])) - (kernel - 1) - rule.flank + kept.start  # the median used site's window
    row |= {"consensus": consensus(Motif("m", counts)), "motif_start": first, "motif_end": first + len(counts) - 1,
            "width": len(counts), "information_content": information}

    def region(table):  # every key of the search region with its windows: one stretch per query
        return key_windows(data.codes, data.circular, table["contig"], table["position"], table["strand"],
                           np.full(len(table), end), end - start + kernel, rule.flank)

    site_regions, control_regions = region(site_table), region(control_table)
    site_fold, control_fold = np.arange(len(site_table)) % 2, np.arange(len(control_table)) % 2
    site_hits, control_hits = np.zeros(len(site_table), bool), np.zeros(len(control_table), bool)
    for fold in (0, 1):
        weights = log_odds(frequency_matrix(windows[used & (site_fold != fold)])[kept], data.background)
        threshold = score_threshold(weights, data.background, settings.occurrence_p)
        site_hits[site_fold == fold] = best_scores(weights, site_regions[site_fold == fold]) >= threshold
        control_hits[control_fold == fold] = best_scores(weights, control_regions[control_fold == fold]) >= threshold
    row |= fisher_enrichment(site_hits, control_hits)
    return counts


def motifs(genomes, outdir, prefix: str, databases=(), decoy=None, settings: MotifSettings = MotifSettings(),
           progress: bool = True) -> dict:
    """Run the motifs step. ``genomes``: ``(id, fasta, [attention files])`` per genome; ``databases``: MEME or
    TRANSFAC files of known motifs; ``decoy``: one such file that should match nothing. Returns the summary."""
    ids = [genome_id for genome_id, _, _ in genomes]
    if len(set(ids)) != len(ids) or not ids:
        raise InputError(f"give each genome once, with a distinct id (got {', '.join(ids) or 'none'})")
    names = file_keys([Path(path).name.split(".")[0] for path in databases])  # known.meme twice: known, known_2
    known = {name: read_motifs(path, skip_invalid=True) for name, path in zip(names, databases)}
    decoy_motifs = read_motifs(decoy, skip_invalid=True) if decoy else None
    heads, profiles, all_peaks, motifs, figures, without_profiles = [], [], [], [], [], {}
    for genome_id, fasta, attention_paths in genomes:
        data = read_genome_attention(genome_id, fasta, list(attention_paths))
        _, n_layers, n_heads, _ = data.weights.shape
        sites = (data.queries["query"] == "site").to_numpy()
        if min(sites.sum(), (~sites).sum()) < MIN_QUERIES:  # a model that calls no site, or a site everywhere
            without_profiles[genome_id] = (f"{sites.sum()} sites and {(~sites).sum()} controls in its attention "
                                           f"files, fewer than {MIN_QUERIES} of each to set attention at sites "
                                           "against controls")
            warnings.warn(f"genome {genome_id}: {without_profiles[genome_id]}; its heads have no profile or motif",
                          stacklevel=2)
            heads.append(pd.DataFrame([{"genome": genome_id, "head_id": f"L{layer + 1}H{head + 1}", "layer": layer + 1,
                                        "head": head + 1, "sites": int(sites.sum()), "controls": int((~sites).sum()),
                                        "reported": 0} for layer in range(n_layers) for head in range(n_heads)]
                                      ).reindex(columns=HEAD_COLUMNS))
            continue
        genome_profiles = []
        for layer in range(n_layers):
            for head in range(n_heads):
                rows = head_profile(data.weights[sites, layer, head], data.weights[~sites, layer, head], data.offset)
                genome_profiles.append(rows.assign(genome=genome_id, head_id=f"L{layer + 1}H{head + 1}",
                                                   layer=layer + 1, head=head + 1))
        genome_profiles = add_significance(pd.concat(genome_profiles, ignore_index=True), settings.alpha,
                                           settings.min_fold)
        genome_heads = []
        units = [(layer, head) for layer in range(n_layers) for head in range(n_heads)]
        for layer, head in tqdm(units, desc=f"motifs of {genome_id}", unit="head", disable=not progress):
            head_id = f"L{layer + 1}H{head + 1}"
            profile = genome_profiles[genome_profiles["head_id"] == head_id]
            head_peaks, results = analyse_head(data, layer, head, profile, settings)
            all_peaks.append(head_peaks.assign(genome=genome_id, head_id=head_id))
            head_motifs = []
            for row, counts in results:
                if counts is not None:
                    row["motif"] = f"{genome_id}.{head_id}.{row['peak']}"
                    head_motifs.append(Motif(row["motif"], counts, row["sites_used"],
                                             f"{genome_id} layer {layer + 1} head {head + 1} peak {row['peak']} at "
                                             f"{row['peak_offset']:+d} nt"))
                genome_heads.append(row)
            motifs.extend(head_motifs)
            figures.append((genome_id, head_id, profile, head_peaks, head_motifs))
        genome_heads = pd.DataFrame(genome_heads).reindex(columns=HEAD_COLUMNS)
        genome_heads["q_value"] = benjamini_hochberg(genome_heads["p_value"].to_numpy(np.float64))
        genome_heads["reported"] = (genome_heads["q_value"] < settings.report_q).astype(np.int8)
        heads.append(genome_heads)
        profiles.append(genome_profiles)
        del data  # one genome's attention at a time
    heads = pd.concat(heads, ignore_index=True)
    matches = pd.concat([_compare_kept(motifs, targets, name) for name, targets in known.items()] or
                        [empty_matches()], ignore_index=True)
    decoy_matches = _compare_kept(motifs, decoy_motifs, "decoy") if decoy_motifs else empty_matches()
    heads = with_best_known_match(heads, "motif", best_known_matches(matches, settings.match_q))
    heads["decoy_best_q"] = heads["motif"].map(decoy_matches.groupby("query")["q_value"].min())
    recurrence = _recurrence(heads, motifs, settings.recurrence) if len(genomes) > 1 else None
    reported = set(heads.loc[heads["reported"] == 1, "motif"])
    summary = {"pygenome": __version__, "genomes": ids, "databases": list(known),
               "decoy": None if decoy is None else {
                   "name": Path(decoy).name,
                   "false_match_rate": false_match_rate(decoy_matches[decoy_matches["query"].isin(reported)],
                                                        settings.match_q),
                   "false_match_rate_all_motifs": false_match_rate(decoy_matches, settings.match_q)},
               "heads": len(heads.drop_duplicates(["genome", "head_id"])), "motifs": len(motifs),
               "reported_motifs": len(reported),
               "matched_motifs": int(heads.loc[heads["reported"] == 1, "best_match"].notna().sum()),
               "recurring_groups": None if recurrence is None else int(recurrence["cluster"].nunique()),
               "genomes_without_profiles": without_profiles,
               "parameters": {**asdict(settings), "genomes": [[g, Path(f).name, [Path(a).name for a in paths]]
                                                              for g, f, paths in genomes],
                              "databases": [Path(d).name for d in databases],
                              "decoy": None if decoy is None else Path(decoy).name}}
    _write(Path(outdir), prefix, heads, pd.concat(profiles or [pd.DataFrame()], ignore_index=True),
           pd.concat(all_peaks or [pd.DataFrame()], ignore_index=True),
           motifs, matches, decoy_matches, recurrence, summary, figures, ids)
    return summary


def _compare_kept(motifs: list[Motif], targets: list[Motif], database: str) -> pd.DataFrame:
    """:func:`~pygenome.interpret.compare.compare` of ``motifs`` against ``targets``, :data:`COMPARED_AT_ONCE`
    motifs at a time, keeping each motif's :data:`MATCHES_KEPT` first rows. Those hold every row the step uses:
    q-values are per motif, so a motif's rows (by increasing p-value) have increasing q-values and its best match
    and smallest q-value are its first row; the full table (every motif × every target: 2,400 motifs against the
    decoy's targets took 4 GB) is never held."""
    tables = [compare(motifs[start:start + COMPARED_AT_ONCE], targets, database).groupby("query", sort=False).head(
        MATCHES_KEPT) for start in range(0, len(motifs), COMPARED_AT_ONCE)]
    return pd.concat(tables, ignore_index=True) if tables else empty_matches()


def _recurrence(heads, motifs, threshold) -> pd.DataFrame:
    """The head motifs in groups that span more than one genome: cluster, head_id, genome, consensus, peak_offset."""
    columns = ["cluster", "head_id", "genome", "consensus", "peak_offset"]
    if not motifs:
        return pd.DataFrame(columns=columns)
    matrices = [motif.counts / motif.counts.sum(axis=1, keepdims=True) for motif in motifs]
    table = heads.set_index("motif").loc[[motif.name for motif in motifs]].reset_index()
    table["cluster"] = groups(matrices, threshold)
    spread = table.groupby("cluster")["genome"].nunique()
    table = table[table["cluster"].map(spread) > 1]
    table["cluster"] = table["cluster"].map({c: n + 1 for n, c in enumerate(dict.fromkeys(table["cluster"]))})
    return table[columns].reset_index(drop=True)


def _write(outdir, prefix, heads, profiles, all_peaks, motifs, matches, decoy_matches, recurrence, summary, figures,
           ids) -> None:
    keys = [key for key in suffixes("motifs") if recurrence is not None or key != "recurrence.tsv"]
    with atomic_outputs(*(outdir / f"{prefix}.{key}" for key in keys)) as temps:
        temp = dict(zip(keys, temps))
        heads.to_csv(temp["heads.tsv"], sep="\t", index=False, float_format="%.6g")
        profiles.reindex(columns=PROFILE_COLUMNS).to_csv(temp["profiles.tsv"], sep="\t", index=False,
                                                         float_format="%.6g")
        all_peaks.reindex(columns=["genome", "head_id", "summit", "start", "end", "width", "excess", "site_mean",
                                   "control_mean", "q_value"]).to_csv(temp["peaks.tsv"], sep="\t", index=False,
                                                                       float_format="%.6g")
        write_meme(temp["motifs.meme"], motifs)
        kept = pd.concat([matches, decoy_matches], ignore_index=True).groupby(["query", "database"], sort=False).head(
            MATCHES_KEPT)
        genome_of = heads.dropna(subset=["motif"]).set_index("motif")
        kept.insert(0, "head_id", kept["query"].map(genome_of["head_id"]))
        kept.insert(0, "genome", kept["query"].map(genome_of["genome"]))
        kept.to_csv(temp["matches.tsv"], sep="\t", index=False, float_format="%.6g")
        if recurrence is not None:
            recurrence.to_csv(temp["recurrence.tsv"], sep="\t", index=False)
        write_json(temp["motifs.json"], summary, indent=2, sort_keys=True)
        folder = temp["figures"]
        folder.mkdir()
        motif_start = {name: int(start) for name, start in zip(heads["motif"], heads["motif_start"]) if pd.notna(name)}
        for genome_id, head_id, profile, head_peaks, head_motifs in figures:
            logos.profile(profile, head_peaks, f"{genome_id} {head_id}", folder / f"{genome_id}.{head_id}.profile.png")
            for motif in head_motifs:
                logos.logo(motif.counts, motif.name, folder / f"{motif.name}.logo.png",
                           folder / f"{motif.name}.logo.svg", first=motif_start[motif.name])
        if recurrence is not None and len(recurrence):
            logos.recurrence(recurrence, ids, folder / "recurrence.png")

