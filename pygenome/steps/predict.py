"""The predict step: a model and a genome → per-nucleotide scores of both strands, called sites, and attention.

For each contig (one per task in Nextflow, or all), both strands are scored with :func:`pygenome.model.inference.
score_stretches` (every position with its full upstream context, wrapping the origin of circular contigs) and written
in forward coordinates. Outputs, in ``outdir`` and named after ``prefix``:

- ``<prefix>.scores.track.npz``: ``float32`` class-1 probability per strand and nucleotide (a track of kind
  "scores"); ``<prefix>.scores.plus.bw`` / ``.minus.bw`` (and ``.bedgraph`` on request);
- ``<prefix>.predicted.bed``: called sites, BED6+4 as the label step writes them (score: the probability), by
  ``peaks`` (local maxima at least ``min_score`` and ``distance`` nt apart; the default), ``threshold`` (every
  position at least ``min_score``) or ``top_k`` (the ``top_k`` highest peaks); ``min_score`` is by default the
  model's calibrated threshold (best site F1 on its validation set, :mod:`pygenome.model.calibration`);
- ``<prefix>.attention.npz`` (with query sites): for each site, the attention of every layer and head from the output
  that scores it (site + shift) to each key in its context, ``float16`` ``(N, layers, heads, context + 1)`` by key
  distance, with the site table; and the same at random control positions away from any query site, against which
  the motifs step sets each head's profile (a causal model's heads also attend at fixed offsets from any query). See
  :mod:`pygenome.io.attention` and :func:`pygenome.io.sites.control_queries`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.io.attention import save_attention
from pygenome.io.genome import read_genome, reverse_complement
from pygenome.io.outputs import atomic_outputs
from pygenome.io.sites import (
    CONTROL_EXCLUSION,
    control_queries,
    empty_sites,
    local_maxima,
    query_sites,
    site_table,
    sort_sites,
    write_sites_bed,
)
from pygenome.io.tracks import (
    STRANDS,
    Track,
    genome_meta,
    save_track,
    write_bedgraph,
    write_bigwig,
)
from pygenome.model import load_model
from pygenome.model.calibration import DEFAULT_MIN_SCORE
from pygenome.model.inference import attention_at, autocast_dtype, pick_device, score_stretches

CALLERS = ("peaks", "threshold", "top_k")


@dataclass(frozen=True)
class SiteCaller:
    """How predicted sites are called from the scores (each a ``pygenome predict`` option)."""

    method: str = "peaks"
    min_score: float | None = None  # None: the model's calibrated threshold (its config.json's site_calling)
    distance: int = 10
    top_k: int = 1000

    def __post_init__(self):
        if self.method not in CALLERS:
            raise InputError(f"site calling must be one of {', '.join(CALLERS)}, not {self.method!r}")
        if self.distance < 0 or self.top_k < 1:
            raise InputError("distance must be 0 or more and top_k at least 1")

    def for_model(self, record: dict) -> "SiteCaller":
        """This rule with the threshold of the model of ``record`` where none was given: the one calibrated on its
        validation set, else 0.5 (a model folder written before calibration, or without validation sites)."""
        if self.min_score is not None:
            return self
        calibrated = (record.get("site_calling") or {}).get("min_score")
        return replace(self, min_score=DEFAULT_MIN_SCORE if calibrated is None else calibrated)


def predict(model_dir, fasta, outdir, prefix: str, contigs=None, topology: str = "auto", caller=SiteCaller(),
            attention_sites=None, attention_controls: int | None = None, seed: int = 0, bedgraph: bool = False,
            device: str = "auto", precision: str = "auto", batch_size: int | None = None,
            progress: bool = True) -> dict:
    """Run the predict step; returns a summary (sites called, attention sites, the device)."""
    model, record = load_model(model_dir)
    caller = caller.for_model(record)
    if attention_sites is not None and model.config.kind != "transformer":
        raise InputError(f"{model_dir}: a {model.config.kind} model has no attention; leave out --attention-sites "
                         "(or explain it with pygenome attribute)")
    device = pick_device(device)
    model = model.to(device)
    autocast = autocast_dtype(precision, device)
    batch_size = batch_size or (128 if device.type == "cuda" else 16)
    genome = read_genome(fasta, topology)
    names = [c.name for c in genome.contigs] if contigs is None else list(dict.fromkeys(contigs))
    chosen = [genome.contig(name) for name in names]
    queries = query_sites(attention_sites, genome, names, "attention sites must be 'predicted', a BED file or a label "
                          "track") if attention_sites not in (None, "predicted") else None
    producer = {"step": "predict", "pygenome": __version__, "parameters": {
        "model": Path(model_dir).name, "model_data": [d["id"] for d in record["data"]], "fasta": Path(fasta).name,
        "contigs": names, "topology": topology, "caller": caller.__dict__, "precision": precision,
        "attention_sites": None if attention_sites is None else Path(attention_sites).name,
        "attention_controls": attention_controls, "seed": seed}}
    arrays = {}
    total = 2 * sum(contig.length for contig in chosen)
    with tqdm(total=total, desc="predicting", unit="nt", unit_scale=True, disable=not progress,
              mininterval=1.0) as bar:
        for contig in chosen:
            codes = genome.codes[contig.name]
            plus, minus = (score_stretches(model, strand_codes, contig.circular, [(0, contig.length)], device,
                                           batch_size, autocast, progress=bar.update)[0]
                           for strand_codes in (codes, reverse_complement(codes)))
            arrays[contig.name] = np.stack([plus, minus[::-1]])
    track = Track("scores", genome_meta(genome), arrays, producer)
    sites = call_predicted_sites(track, caller)
    keys = ["scores.track.npz", "predicted.bed", "scores.plus.bw", "scores.minus.bw"]
    if bedgraph:
        keys += ["scores.plus.bedgraph", "scores.minus.bedgraph"]
    summary = {"pygenome": __version__, "contigs": names, "sites_called": len(sites), "min_score": caller.min_score,
               "device": str(device)}
    attention = None
    if attention_sites is not None:
        queries = sites if attention_sites == "predicted" else queries
        count = max(len(queries), MIN_CONTROLS) if attention_controls is None else attention_controls
        controls = control_queries(genome, names, queries, count, seed, at_most=attention_controls is None)
        if len(controls) < count:
            warnings.warn(f"{', '.join(names)}: room for {len(controls)} attention controls more than "
                          f"{CONTROL_EXCLUSION} nt from every query site, not {count}; attention taken at those",
                          stacklevel=2)
        attention = site_attention(model, genome, pd.concat([queries, controls], ignore_index=True), device, autocast)
        keys.append("attention.npz")
        summary["attention_sites"], summary["attention_controls"] = len(queries), len(controls)
    with atomic_outputs(*(Path(outdir) / f"{prefix}.{key}" for key in keys)) as temps:
        temp = dict(zip(keys, temps))
        save_track(temp["scores.track.npz"], track)
        write_sites_bed(sites, temp["predicted.bed"])
        for strand, word in zip(STRANDS, ("plus", "minus")):
            write_bigwig(track, temp[f"scores.{word}.bw"], strand)
            if bedgraph:
                write_bedgraph(track, temp[f"scores.{word}.bedgraph"], strand)
        if attention is not None:
            sites = attention_sites if attention_sites in (None, "predicted") else Path(attention_sites).name
            save_attention(temp["attention.npz"], *attention, meta={
                "model": record["model"], "genome": genome_meta(genome), "sites": sites, "producer": producer})
    return summary


def call_predicted_sites(track: Track, caller: SiteCaller) -> pd.DataFrame:
    """Sites from a scores track (see :class:`SiteCaller`), as a site table of source "predicted"."""
    tables = []
    for name, array in track.arrays.items():
        circular = track.contig_info(name)["circular"]
        for row, strand in enumerate(STRANDS):
            values = array[row]
            if caller.method == "threshold":
                positions = np.flatnonzero(values >= caller.min_score)
            else:
                minimum = caller.min_score if caller.method == "peaks" else -np.inf
                positions = local_maxima(values, minimum, caller.distance, circular)
            tables.append(site_table(name, positions, strand, "predicted", score=values[positions].astype(float)))
    sites = pd.concat(tables, ignore_index=True) if tables else empty_sites()
    if caller.method == "top_k":
        sites = sites.sort_values("score", ascending=False, kind="stable").head(caller.top_k)
    return sort_sites(sites, list(track.arrays))


MIN_CONTROLS = 500


def site_attention(model, genome, sites: pd.DataFrame, device, autocast):
    """``(attention (N, layers, heads, context + 1) float16, site table)`` for the sites, with each site's score
    from the forward that gave its attention."""
    config = model.config
    attention = np.zeros((len(sites), config.n_layers, config.n_heads, config.context + 1), dtype=np.float16)
    scores = np.zeros(len(sites), dtype=np.float32)
    for (contig_name, strand), group in sites.groupby(["contig", "strand"], sort=False):
        contig = genome.contig(contig_name)
        codes = genome.codes[contig_name]
        forward = group["position"].to_numpy(np.int64)
        oriented = forward if strand == "+" else contig.length - 1 - forward
        strand_codes = codes if strand == "+" else reverse_complement(codes)
        weights, probabilities = attention_at(model, strand_codes, contig.circular, oriented, device,
                                              autocast_dtype=autocast)
        attention[group.index] = weights
        scores[group.index] = probabilities
    table = sites[["contig", "position", "strand", "name"]].copy()
    table["score"] = scores
    table["label"] = (~sites["source"].isin(["predicted", "control"])).astype(np.int8)
    table["query"] = np.where(sites["source"] == "control", "control", "site")
    return attention, table
