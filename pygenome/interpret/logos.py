"""Figures of the motifs step: sequence logos (logomaker), head profiles, and motif recurrence across genomes; the
survey step's: logos of a motif across genomes, one row each, and a motif's AT fraction against genome GC.

Every figure is written byte-identical for the same data (no dates or software versions in PNG or SVG metadata, a
fixed SVG id salt).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "pygenome"
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path, fmt: str = "png") -> None:
    metadata = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    figure.savefig(path, format=fmt, metadata=metadata, dpi=110)


def _draw(axis, frequencies: np.ndarray, first: int = 0) -> None:
    """The logo in bits of ``frequencies`` ``(width, 4)`` (A, C, G, T probabilities) on ``axis``, its columns at
    ``first``, ``first + 1``…, on a 0-2 bits axis."""
    import logomaker

    frame = pd.DataFrame(frequencies, columns=list("ACGT"), index=range(first, first + len(frequencies)))
    logomaker.Logo(logomaker.transform_matrix(frame, from_type="probability", to_type="information"), ax=axis,
                   color_scheme="classic")
    axis.set_ylim(0, 2)


def logo(counts: np.ndarray, title: str, png, svg, first: int | None = None) -> None:
    """A sequence logo in bits of ``counts`` ``(width, 4)``, written as PNG and SVG; columns numbered from 1, or by
    their offset from the site when ``first`` (the first column's) is given."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(max(2.5, 0.45 * len(counts) + 0.8), 1.9))
    _draw(axes, counts / counts.sum(axis=1, keepdims=True))
    axes.set_ylabel("bits")
    labels = [str(i + 1) if first is None else f"{first + i:+d}" for i in range(len(counts))]
    axes.set_xticks(range(len(counts)), labels, fontsize=7)
    if first is not None:
        axes.set_xlabel("position relative to the site (nt)", fontsize=7)
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    _save(figure, png)
    _save(figure, svg, "svg")
    plt.close(figure)


def stacked_logos(frequencies: list[np.ndarray], starts: list[int], labels: list[str], title: str, png,
                  svg) -> None:
    """Logos in bits of several motifs, one row each (top to bottom in the order given) on a shared axis of offsets
    from the site, written as PNG and SVG: ``frequencies[i]`` ``(width_i, 4)`` (A, C, G, T probabilities, each row
    summing to 1), ``starts[i]`` the offset of its first column (nt; negative is upstream), ``labels[i]`` the title of
    its row, ``title`` the figure's."""
    plt = _pyplot()
    ends = [start + len(matrix) - 1 for matrix, start in zip(frequencies, starts)]
    first, last = min(starts), max(ends)
    figure, axes = plt.subplots(len(frequencies), 1, sharex=True, squeeze=False,
                                figsize=(max(3.5, 0.4 * (last - first + 1) + 1.6), 0.4 + 1.3 * len(frequencies)))
    for axis, matrix, start, label in zip(axes[:, 0], frequencies, starts, labels):
        _draw(axis, matrix, start)
        axis.set_xlim(first - 0.5, last + 0.5)
        axis.set_ylabel("bits", fontsize=7)
        axis.tick_params(labelsize=7)
        axis.set_title(label, fontsize=8, loc="left")
    bottom = axes[-1, 0]
    bottom.set_xticks(range(first, last + 1), [f"{offset:+d}" for offset in range(first, last + 1)], fontsize=7)
    bottom.set_xlabel("position relative to the site (nt)", fontsize=7)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    _save(figure, png)
    _save(figure, svg, "svg")
    plt.close(figure)


def profile(rows: pd.DataFrame, peak_rows: pd.DataFrame, title: str, path) -> None:
    """A head's mean attention by offset at sites and at controls with their 95 % bands (``rows``: the head's rows
    of the profiles table), its significant offsets marked and its peaks (``peak_rows``) shaded, as PNG."""
    plt = _pyplot()
    rows = rows.sort_values("offset")
    figure, axes = plt.subplots(figsize=(6.4, 2.2))
    for name, colour in (("site", "#c0392b"), ("control", "#7f8c8d")):
        axes.fill_between(rows["offset"], rows[f"{name}_low"], rows[f"{name}_high"], color=colour, alpha=0.25,
                          linewidth=0)
        axes.plot(rows["offset"], rows[f"{name}_mean"], color=colour, linewidth=1, label=f"{name}s")
    for _, peak in peak_rows.iterrows():
        axes.axvspan(peak["start"] - 0.5, peak["end"] + 0.5, color="#f1c40f", alpha=0.3, linewidth=0)
    significant = rows[rows["significant"] == 1]
    axes.plot(significant["offset"], significant["site_mean"], "o", color="#c0392b", markersize=2)
    axes.set_xlabel("key position relative to the site (nt)")
    axes.set_ylabel("mean attention")
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=7, frameon=False)
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def recurrence(table: pd.DataFrame, genomes: list[str], path) -> None:
    """Which motif groups (rows: ``cluster`` with its consensus) occur in which genomes (columns), as PNG; ``table``
    has one row per head motif: ``cluster``, ``genome``, ``consensus``."""
    plt = _pyplot()
    clusters = sorted(table["cluster"].unique())
    presence = np.array([[((table["cluster"] == c) & (table["genome"] == g)).sum() for g in genomes]
                         for c in clusters])
    labels = [f"{c}: {table[table['cluster'] == c]['consensus'].iloc[0]}" for c in clusters]
    figure, axes = plt.subplots(figsize=(1.2 + 0.6 * len(genomes), 0.8 + 0.3 * len(clusters)))
    axes.imshow(presence, cmap="Blues", aspect="auto", vmin=0)
    axes.set_xticks(range(len(genomes)), genomes, rotation=45, ha="right", fontsize=7)
    axes.set_yticks(range(len(clusters)), labels, fontsize=7)
    for (row, column), heads in np.ndenumerate(presence):
        if heads:
            axes.text(column, row, str(heads), ha="center", va="center", fontsize=7)
    axes.set_title("head motifs per genome", fontsize=9)
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def attribution_logo(values: np.ndarray, offsets: np.ndarray, title: str, png) -> None:
    """A logo of attributions ``values`` ``(width, 4)`` (A, C, G, T; letters scaled by their value, below the axis
    when negative) at ``offsets`` ``(width,)`` nt from the site, as PNG."""
    import logomaker

    plt = _pyplot()
    frame = pd.DataFrame(values, columns=list("ACGT"), index=offsets)
    figure, axes = plt.subplots(figsize=(max(4.0, 0.16 * len(values) + 1.0), 1.9))
    logomaker.Logo(frame, ax=axes, color_scheme="classic", flip_below=False)
    low, high = np.minimum(values, 0).sum(axis=1).min(), np.maximum(values, 0).sum(axis=1).max()
    margin = 0.05 * (high - low) or 1.0
    axes.set_ylim(low - margin, high + margin)
    axes.axhline(0, color="#888888", linewidth=0.5)
    axes.set_xlabel("position relative to the site (nt)", fontsize=7)
    axes.set_ylabel("attribution", fontsize=7)
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    _save(figure, png)
    plt.close(figure)


def gia_effects(table: pd.DataFrame, path) -> None:
    """Effects of a global importance analysis (:func:`pygenome.steps.gia.gia`'s table) by offset and, when scanned, by
    spacing: means with 95 % confidence intervals, one line per motif, as PNG."""
    plt = _pyplot()
    analyses = [a for a in ("position", "spacing") if (table["analysis"] == a).any()]
    figure, axes = plt.subplots(1, len(analyses), figsize=(4.2 * len(analyses), 2.8), squeeze=False)
    for axis, analysis in zip(axes[0], analyses):
        rows = table[table["analysis"] == analysis]
        x = "offset" if analysis == "position" else "spacing"
        for motif, group in rows.groupby("motif", sort=False):
            axis.errorbar(group[x], group["mean"], yerr=[group["mean"] - group["ci_low"],
                                                          group["ci_high"] - group["mean"]],
                          marker="o", markersize=3, capsize=2, label=motif)
        axis.axhline(0, color="#888888", linewidth=0.5)
        axis.set_xlabel("offset of the motif from the site (nt)" if x == "offset" else "spacer (nt)", fontsize=8)
        axis.set_ylabel("mean change of log-odds", fontsize=8)
        axis.legend(fontsize=7, frameon=False)
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def at_fraction_vs_gc(rows: pd.DataFrame, groups: list[dict], path, min_genomes: int) -> None:
    """A panel per motif group of the survey: the AT fraction of each genome's representative motif against the
    genome's GC (``rows``: ``group``, ``genome``, ``gc``, ``at_fraction``), with the least-squares line and the Pearson
    and Spearman correlations of the group's ``at_fraction_vs_gc`` (where there are ``min_genomes`` or more), as PNG."""
    plt = _pyplot()
    columns = min(len(groups), 3)
    lines = -(-len(groups) // columns)
    figure, axes = plt.subplots(lines, columns, figsize=(3.4 * columns, 3.0 * lines), squeeze=False)
    for axis, group in zip(axes.flat, groups):
        points = rows[rows["group"] == group["group"]]
        axis.plot(points["gc"], points["at_fraction"], "o", color="#2c7fb8", markersize=5)
        for point in points.itertuples():
            axis.annotate(point.genome, (point.gc, point.at_fraction), textcoords="offset points", xytext=(4, 3),
                          fontsize=7)
        fit = group["at_fraction_vs_gc"]
        subtitle = (f"n = {fit['n']}: too few genomes for r" if fit["n"] < min_genomes else
                    f"n = {fit['n']}: no spread, no r")
        if fit["slope"] is not None:
            x = np.array([points["gc"].min(), points["gc"].max()])
            axis.plot(x, fit["intercept"] + fit["slope"] * x, color="#c0392b", linewidth=1)
            subtitle = f"Pearson r = {fit['pearson_r']:.2f}, Spearman ρ = {fit['spearman_r']:.2f} (n = {fit['n']})"
        axis.set_title(f"{group['group']}: {group['consensus']}\n{subtitle}", fontsize=8)
        axis.set_xlabel("genome GC fraction", fontsize=8)
        axis.set_ylabel("motif AT fraction", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.margins(x=0.25, y=0.15)
    for axis in list(axes.flat)[len(groups):]:
        axis.set_visible(False)
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)
