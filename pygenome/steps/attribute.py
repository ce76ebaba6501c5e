"""The attribute step: attributions of a model's score at chosen sites (:mod:`pygenome.interpret.attribution` for the
methods).

Inputs: a model folder, the genome FASTA and the sites (a BED file or a label track: every labelled position, as for
``pygenome predict --attention-sites``), optionally only some contigs and at most ``max_sites`` of them (the first
in genome order). Outputs, whole or not at all, in the arrays' convention of TF-MoDISco (modisco-lite) and
tangermeme — one ``(N, 4, L)`` float32 array per ``.npz``, stored as ``arr_0``:

- ``<prefix>.one_hot.npz``: the windows, one-hot (A, C, G, T);
- ``<prefix>.<method>.npz``: the attributions of each method (``saliency``, ``ism``, ``integrated_gradients``,
  ``deep_lift_shap``); ISM centred and DeepLIFT/SHAP hypothetical, as TF-MoDISco reads them
  (:mod:`pygenome.interpret.attribution`);
- ``<prefix>.sites.tsv``: one row per window (contig, position, strand, name; the model's log-odds; with integrated
  gradients the reference's log-odds and the completeness error; with DeepLIFT/SHAP its completeness error,
  ``deep_lift_shap_completeness_error``);
- ``<prefix>.attribution.json``: the window's offsets from the site, the methods and their settings, completeness
  figures, the model and the genome;
- ``<prefix>.<method>.track.npz`` and ``<prefix>.<method>.{plus,minus}.bw``: each site's contributions (the
  attribution of the base present, :func:`pygenome.interpret.attributed.contributions`) at genome coordinates on the
  site's strand, 0 elsewhere; where windows overlap, the value of larger magnitude;
- ``<prefix>.motifs.tsv`` and ``<prefix>.motifs.meme``: motifs of each method's attribution peaks, anchored at their
  offset from the site (:mod:`pygenome.interpret.attributed`), with their best Tomtom match in each of ``databases``;
- ``<prefix>.figures/``: attribution logos of the first ``plot_sites`` sites, ``plot_span`` nt around them, and a
  logo of each attribution motif.

So ``modisco motifs -s <prefix>.one_hot.npz -a <prefix>.<method>.npz -w L -n …`` reads every method's as they are
(tested).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.interpret.attributed import attribution_motifs, contributions
from pygenome.interpret.attribution import (
    deep_lift_score,
    deep_lift_shap,
    integrated_gradients,
    ism,
    log_odds,
    references,
    saliency,
    window_offsets,
    windows_at_sites,
)
from pygenome.interpret.attribution_methods import DEFAULT_METHODS, METHODS, REFERENCES
from pygenome.interpret.compare import with_best_known_matches
from pygenome.io.genome import one_hot, read_genome
from pygenome.io.layout import suffixes
from pygenome.io.motifs import write_meme
from pygenome.io.outputs import atomic_outputs, save_npz, write_json
from pygenome.io.sites import query_sites
from pygenome.io.tracks import STRANDS, Track, genome_meta, save_track, write_bigwig
from pygenome.model import load_model

BATCH = 32  # windows per gradient pass


def attribute(model_dir, fasta, sites, outdir, prefix: str, methods=DEFAULT_METHODS,
              reference: str = "dinucleotide_shuffle", steps: int = 50, seed: int = 0, contigs=None,
              topology: str = "auto", max_sites: int | None = None, plot_sites: int = 3, plot_span=(-50, 25),
              databases=(), progress: bool = True, deep_lift_references: int = 20) -> dict:
    """Run the attribute step; returns its summary (also in ``<prefix>.attribution.json``). ``deep_lift_references``:
    DeepLIFT/SHAP's references per site (one when they are uniform)."""
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        raise InputError(f"attribution method(s) {', '.join(unknown) or 'none'}: choose from {', '.join(METHODS)}")
    if reference not in REFERENCES:
        raise InputError(f"reference {reference!r}: choose from {', '.join(REFERENCES)}")
    if steps < 1:
        raise InputError(f"--steps must be at least 1, not {steps}")
    if deep_lift_references < 1:
        raise InputError(f"DeepLIFT/SHAP needs at least one reference per site, not {deep_lift_references}")
    model, record = load_model(model_dir)
    score = deep_lift_score(model) if "deep_lift_shap" in methods else None  # fails before the work for a transformer
    config = model.config
    genome = read_genome(fasta, topology)
    names = [c.name for c in genome.contigs] if contigs is None else list(dict.fromkeys(contigs))
    for name in names:
        genome.contig(name)  # fails clearly for a contig the genome lacks
    table = query_sites(sites, genome, names)
    if max_sites is not None:
        table = table.head(max_sites)
    if not len(table):
        raise InputError(f"{sites}: no sites on the contigs {', '.join(names)}; nothing to attribute")
    table = table[["contig", "position", "strand", "name"]].reset_index(drop=True)
    codes = windows_at_sites(genome, table, config)
    x_all = torch.from_numpy(one_hot(codes))
    draws = 1 if reference == "uniform" or "deep_lift_shap" not in methods else deep_lift_references
    results = {method: torch.zeros_like(x_all) for method in methods}
    table["log_odds"] = np.nan
    errors = {method: np.full(len(table), np.nan) for method in ("integrated_gradients", "deep_lift_shap")}
    reference_log_odds = np.full(len(table), np.nan)
    with tqdm(total=len(table), desc="attributing", unit="site", disable=not progress) as bar:
        for start in range(0, len(table), BATCH):
            batch = slice(start, start + BATCH)
            x = x_all[batch]
            with torch.no_grad():
                table.loc[table.index[batch], "log_odds"] = log_odds(model, x).numpy()
            if "saliency" in methods:
                results["saliency"][batch] = saliency(model, x)
            if "ism" in methods:
                results["ism"][batch] = ism(model, x)
            if {"integrated_gradients", "deep_lift_shap"} & set(methods):  # (B, draws, 4, L); draw 0 is IG's
                drawn = torch.from_numpy(np.stack([references(codes[batch], reference, seed, draw, start)
                                                   for draw in range(draws)], axis=1))
            if "integrated_gradients" in methods:
                results["integrated_gradients"][batch], error = integrated_gradients(model, x, drawn[:, 0], steps)
                errors["integrated_gradients"][batch] = error.numpy()
                with torch.no_grad():
                    reference_log_odds[batch] = log_odds(model, drawn[:, 0]).numpy()
            if "deep_lift_shap" in methods:
                results["deep_lift_shap"][batch], error = deep_lift_shap(score, x, drawn)
                errors["deep_lift_shap"][batch] = error.numpy()
            bar.update(len(x))
    summary = _summary(record, genome, fasta, sites, names, methods, reference, steps, seed, config, table, errors,
                       draws)
    if "integrated_gradients" in methods:
        table["reference_log_odds"] = reference_log_odds
        table["completeness_error"] = errors["integrated_gradients"]
    if "deep_lift_shap" in methods:
        table["deep_lift_shap_completeness_error"] = errors["deep_lift_shap"]
    offsets = window_offsets(config)
    motifs, motif_table = attribution_motifs(prefix, {m: v.numpy() for m, v in results.items()}, x_all.numpy(),
                                             offsets)
    motif_table = with_best_known_matches(motif_table, "motif", motifs, databases)
    summary["motifs"] = json.loads(motif_table.to_json(orient="records"))
    tracks = {method: contribution_track(genome, table, contributions(method, values.numpy(), x_all.numpy()),
                                         offsets, {"step": "attribute", "pygenome": __version__, "method": method,
                                                   "parameters": summary["parameters"]})
              for method, values in results.items()}
    _write(Path(outdir), prefix, x_all, results, table, summary, offsets, plot_sites, plot_span, motifs, motif_table,
           tracks)
    return summary


def contribution_track(genome, table, contribution: np.ndarray, offsets: np.ndarray, producer: dict) -> Track:
    """A track of kind "attribution": each site's contributions ``(N, L)`` written at the genome positions of its
    window on its strand (off a linear contig's ends dropped, around a circular one wrapped); where windows overlap,
    the value of larger magnitude."""
    arrays = {contig.name: np.zeros((2, contig.length), dtype=np.float32) for contig in genome.contigs}
    for row, site in enumerate(table.itertuples()):
        contig = genome.contig(site.contig)
        positions = site.position + (offsets if site.strand == "+" else -offsets)
        keep = np.ones(len(positions), bool) if contig.circular else (positions >= 0) & (positions < contig.length)
        positions = positions[keep] % contig.length
        target = arrays[site.contig][STRANDS.index(site.strand)]
        values = contribution[row][keep]
        larger = np.abs(values) > np.abs(target[positions])
        target[positions[larger]] = values[larger]
    return Track("attribution", genome_meta(genome), arrays, producer)


def _summary(record, genome, fasta, sites, names, methods, reference, steps, seed, config, table, errors,
             draws) -> dict:
    offsets = window_offsets(config)
    summary = {
        "pygenome": __version__, "sites": len(table), "window": {"length": int(len(offsets)), "first_offset":
                                                                 int(offsets[0]), "last_offset": int(offsets[-1])},
        "score": "log-odds of class 1 at the output that scores the site", "methods": list(methods),
        "parameters": {"model": record["model"], "fasta": Path(fasta).name, "sites": Path(str(sites)).name,
                       "contigs": names, "reference": reference, "steps": steps, "seed": seed},
        "genome": genome_meta(genome)}
    scale = float(np.abs(table["log_odds"].to_numpy()).mean())
    settings = {"integrated_gradients": {"reference": reference, "steps": steps},
                "deep_lift_shap": {"reference": reference, "references": draws}}
    for method in ("integrated_gradients", "deep_lift_shap"):
        if method in methods:
            summary[method] = settings[method] | {"completeness_error_max": float(np.abs(errors[method]).max()),
                                                  "completeness_error_mean": float(np.abs(errors[method]).mean()),
                                                  "mean_abs_log_odds": scale}
    return summary


def _write(outdir, prefix, x_all, results, table, summary, offsets, plot_sites, plot_span, motifs,
           motif_table, tracks) -> None:
    from pygenome.interpret.logos import attribution_logo, logo

    keys = ["one_hot.npz", *(f"{method}.npz" for method in results), *suffixes("attribute")[1:]]  # see io/layout
    keys += [f"{method}.{kind}" for method in results for kind in ("track.npz", "plus.bw", "minus.bw")]
    with atomic_outputs(*(outdir / f"{prefix}.{key}" for key in keys)) as temps:
        temp = dict(zip(keys, temps))
        for key, values in (("one_hot.npz", x_all), *((f"{method}.npz", v) for method, v in results.items())):
            save_npz(temp[key], {"arr_0": values.numpy().astype(np.float32)})
        table.to_csv(temp["sites.tsv"], sep="\t", index=False, float_format="%.6g")
        motif_table.to_csv(temp["motifs.tsv"], sep="\t", index=False, float_format="%.6g")
        for method, track in tracks.items():
            save_track(temp[f"{method}.track.npz"], track)
            for strand, word in zip(STRANDS, ("plus", "minus")):
                write_bigwig(track, temp[f"{method}.{word}.bw"], strand)
        write_meme(temp["motifs.meme"], motifs)
        write_json(temp["attribution.json"], summary, indent=2, sort_keys=True)
        temp["figures"].mkdir()
        starts = dict(zip(motif_table["motif"], motif_table["motif_start"]))
        for motif in motifs:
            logo(motif.counts, motif.name, temp["figures"] / f"{motif.name}.logo.png",
                 temp["figures"] / f"{motif.name}.logo.svg", first=int(starts[motif.name]))
        shown = (offsets >= plot_span[0]) & (offsets <= plot_span[1])
        for row in table.head(plot_sites).itertuples():
            label = f"{row.contig}:{row.position}{row.strand}"
            for method, values in results.items():
                attribution_logo(values[row.Index].numpy().T[shown], offsets[shown], f"{label} {method}",
                                 temp["figures"] / f"{row.Index + 1}.{method}.png")
