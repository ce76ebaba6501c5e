"""The filters step: what the first-layer filters of a CNN model detect (Koo & Ploenzke 2020, sec. 3.1).

Each filter's activation (ReLU of its convolution, :meth:`pygenome.model.cnn.CNN.filter_activations`) is computed
over the model's input windows at the given sites (each on its strand,
:func:`pygenome.interpret.attribution.site_windows`). Every placement where a filter's activation exceeds ``threshold``
× its largest activation over all windows contributes the ``filter_width`` nucleotides under it; counted, they make the
filter's position frequency matrix (Ns not counted). A filter with at least ``min_sites`` such subsequences is written
as a motif (``filter<k>``), with its best Tomtom match in each database given.

Outputs: ``<prefix>.filters.meme``, ``<prefix>.filters.tsv`` (a row per filter: largest activation, subsequences
counted, consensus, information content, best match and its q-value) and ``<prefix>.filters.figures/`` (logos of the
written filters).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.interpret.attribution import windows_at_sites
from pygenome.interpret.compare import with_best_known_matches
from pygenome.interpret.composition import base_composition, column_information
from pygenome.interpret.extract import frequency_matrix
from pygenome.io.genome import one_hot, read_genome
from pygenome.io.layout import suffixes
from pygenome.io.motifs import Motif, consensus, write_meme
from pygenome.io.outputs import atomic_outputs, write_json
from pygenome.io.sites import query_sites
from pygenome.model import load_model

THRESHOLD = 0.5  # of a filter's largest activation
MIN_SITES = 10


@torch.no_grad()
def filter_matrices(model, codes: np.ndarray, threshold: float = THRESHOLD) -> tuple[np.ndarray, np.ndarray, list]:
    """``(largest activation (F,), subsequences counted (F,), count matrices [(filter_width, 4)] * F)`` of the
    first-layer filters over windows ``codes`` ``(N, L)``."""
    activations = model.filter_activations(torch.from_numpy(one_hot(codes))).numpy()  # (N, F, L - w + 1)
    width = model.config.filter_width
    largest = activations.max(axis=(0, 2))
    counts, matrices = np.zeros(len(largest), dtype=np.int64), []
    for index, peak in enumerate(largest):
        if peak <= 0:
            matrices.append(np.zeros((width, 4)))
            continue
        rows, starts = np.nonzero(activations[:, index] > threshold * peak)
        subsequences = codes[rows[:, None], starts[:, None] + np.arange(width)]
        counts[index] = len(rows)
        matrices.append(frequency_matrix(subsequences))
    return largest, counts, matrices


def filters(model_dir, fasta, sites, outdir, prefix: str, databases=(), threshold: float = THRESHOLD,
            min_sites: int = MIN_SITES, topology: str = "auto") -> dict:
    """Run the filters step; returns its summary."""
    model, record = load_model(model_dir)
    if model.config.kind != "cnn":
        raise InputError(f"{model_dir}: a {model.config.kind} model has no first-layer filters; train one with "
                         "--preset cnn (or explain this model with pygenome attribute)")
    genome = read_genome(fasta, topology)
    table = query_sites(sites, genome, [contig.name for contig in genome.contigs])
    if not len(table):
        raise InputError(f"{sites}: no sites; nothing to read the filters on")
    codes = windows_at_sites(genome, table, model.config)
    largest, counts, matrices = filter_matrices(model, codes, threshold)
    background = base_composition(codes, both_strands=False)  # of the windows read, on the sites' strands
    rows, motifs = [], []
    for index, (peak, count, matrix) in enumerate(zip(largest, counts, matrices), start=1):
        name = f"filter{index}"
        kept = count >= min_sites
        motif = Motif(name, matrix, nsites=int(count), description=f"first-layer filter {index}") if kept else None
        rows.append({"filter": name, "largest_activation": float(peak), "subsequences": int(count),
                     "consensus": consensus(motif) if kept else None,
                     "information": float(column_information(matrix, background).sum()) if kept else None})
        if kept:
            motifs.append(motif)
    result = pd.DataFrame(rows)
    result = with_best_known_matches(result, "filter", motifs, databases)
    summary = {"pygenome": __version__, "model": record["model"], "windows": len(codes), "threshold": threshold,
               "min_sites": min_sites, "filters": len(result), "written": len(motifs),
               "matched": int(result["best_match"].notna().sum())}
    outdir = Path(outdir)
    with atomic_outputs(*(outdir / f"{prefix}.{suffix}" for suffix in suffixes("filters"))) as \
            (meme, tsv, summary_path, figures):
        write_meme(meme, motifs, tuple(background))
        result.to_csv(tsv, sep="\t", index=False, float_format="%.6g")
        write_json(summary_path, summary, indent=2)
        figures.mkdir()
        from pygenome.interpret.logos import logo

        for motif in motifs:
            logo(motif.counts, motif.name, figures / f"{motif.name}.logo.png", figures / f"{motif.name}.logo.svg")
    return summary
