"""Global importance analysis (Koo et al. 2021; Koo & Ploenzke 2020, sec. 3.3): the model's response to a motif
placed in sequences that hold nothing else of interest.

**Backgrounds** come from a null model fitted to the genome: ``count`` windows of the model's input length
(:func:`pygenome.interpret.attribution.window_length`) at random positions and strands of the genome (contigs weighted
by length; seeded), each shuffled preserving its dinucleotides
(:func:`pygenome.interpret.attribution.dinucleotide_shuffle`), so they keep the genome's composition and dinucleotide
frequencies but lose its motifs and their arrangement.

A **motif** is a word (a consensus such as TATAAT, inserted as it is) or a probability matrix (a MEME or TRANSFAC
motif, e.g. a head motif of ``pygenome motifs``: one instance sampled from it per background, seeded). It is
placed with its first base at an **offset** from the site the window's output scores (negative: upstream; as
:func:`pygenome.interpret.attribution.window_offsets`). The **effect** at an offset is, over the backgrounds, the
mean change of the model's log-odds (and of its probability) when the motif is placed there, with its standard
deviation and a 95 % confidence interval of the mean (t distribution). The control is the motif's letters (or
columns) in a seeded order that differs from the motif's own: a motif whose effect comes from its arrangement loses it.

A **spacing scan** places the first motif where its effect is largest and a second motif upstream of it, ``spacing``
nt between the end of the second and the start of the first (the -35/-10 spacer of a sigma70 promoter: 17 nt best,
15 to 19 common), and reports the change of the log-odds over the first motif alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

from pygenome import __version__
from pygenome.errors import InputError
from pygenome.interpret.attribution import dinucleotide_shuffle, log_odds, window_length, window_offsets
from pygenome.interpret.logos import gia_effects
from pygenome.io.genome import encode, one_hot, reverse_complement, windows
from pygenome.io.layout import suffixes
from pygenome.io.outputs import atomic_outputs, write_json

BATCH = 256  # windows per forward pass


def backgrounds(genome, count: int, length: int, seed: int) -> np.ndarray:
    """Codes ``(count, length)``: dinucleotide-shuffled windows of random positions and strands of the genome."""
    rng = np.random.default_rng(seed)
    names = [contig.name for contig in genome.contigs]
    lengths = np.array([contig.length for contig in genome.contigs], dtype=np.float64)
    chosen = rng.choice(len(names), size=count, p=lengths / lengths.sum())
    result = np.empty((count, length), dtype=np.uint8)
    for row, index in enumerate(chosen):
        contig = genome.contigs[index]
        start = int(rng.integers(contig.length))
        window = windows(genome.codes[contig.name], [start], length, contig.circular)[0]
        if rng.random() < 0.5:
            window = reverse_complement(window)
        result[row] = dinucleotide_shuffle(window, np.random.default_rng([seed, row]))
    return result


def motif_instances(motif, count: int, seed: int) -> np.ndarray:
    """Codes ``(count, width)`` of a motif: a word repeated, or instances sampled from a probability matrix
    ``(width, 4)`` (each row its own draw, seeded)."""
    if isinstance(motif, str):
        return np.tile(encode(motif.upper()), (count, 1))
    matrix = np.asarray(motif, dtype=np.float64)
    matrix = matrix / matrix.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    cumulative = matrix.cumsum(axis=1)
    draws = rng.random((count, len(matrix), 1))
    return (draws > cumulative[None]).sum(axis=2).clip(max=3).astype(np.uint8)  # a cumulative 0.9999… stays T


def shuffled_control(motif, seed: int):
    """The motif's letters (or matrix columns) in a seeded order that differs from its own (when any does)."""
    width = len(motif)
    rng = np.random.default_rng(seed)
    for _ in range(100):
        order = rng.permutation(width)
        control = "".join(motif[i] for i in order) if isinstance(motif, str) else np.asarray(motif)[order]
        if not (control == motif if isinstance(motif, str) else np.array_equal(control, motif)):
            return control
    return control


def column_of(config, offset: int, width: int) -> int:
    """The window column of a motif's first base placed ``offset`` nt from the site; fails when it does not fit."""
    offsets = window_offsets(config)
    if not offsets[0] <= offset <= offsets[-1] - width + 1:
        raise InputError(f"a motif of {width} nt at offset {offset} does not fit in the model's window "
                         f"({offsets[0]}..{offsets[-1]} nt from the site)")
    return int(offset - offsets[0])


def place(codes: np.ndarray, instances: np.ndarray, column: int) -> np.ndarray:
    """A copy of ``codes`` ``(N, L)`` with ``instances`` ``(N, width)`` at ``column``."""
    placed = codes.copy()
    placed[:, column:column + instances.shape[1]] = instances
    return placed


@torch.no_grad()
def scores(model, codes: np.ndarray) -> np.ndarray:
    """Log-odds ``(N,)`` of windows ``codes`` ``(N, L)``."""
    return np.concatenate([log_odds(model, torch.from_numpy(one_hot(codes[start:start + BATCH]))).numpy()
                           for start in range(0, len(codes), BATCH)])


def effect(before: np.ndarray, after: np.ndarray) -> dict:
    """Summary of log-odds changes ``after − before`` (and of the probability's): mean, sd, 95 % CI of the mean."""
    change = after - before
    probability = 1 / (1 + np.exp(-after)) - 1 / (1 + np.exp(-before))
    sem = change.std(ddof=1) / np.sqrt(len(change))
    half = stats.t.ppf(0.975, len(change) - 1) * sem
    return {"mean": float(change.mean()), "sd": float(change.std(ddof=1)), "ci_low": float(change.mean() - half),
            "ci_high": float(change.mean() + half), "probability_mean": float(probability.mean()),
            "probability_sd": float(probability.std(ddof=1))}


def positional_effects(model, background: np.ndarray, motif, offsets, seed: int) -> list[dict]:
    """The effect of the motif at each offset: one row per offset (``offset`` and :func:`effect`'s keys)."""
    base = scores(model, background)
    instances = motif_instances(motif, len(background), seed)
    return [{"offset": int(offset),
             **effect(base, scores(model, place(background, instances, column_of(model.config, offset,
                                                                                   instances.shape[1]))))}
            for offset in offsets]


def spacing_effects(model, background: np.ndarray, first, first_offset: int, second, spacings, seed: int):
    """The change over ``first`` alone (at ``first_offset``) when ``second`` sits ``spacing`` nt upstream of it, for
    each spacing: one row per spacing (``spacing``, ``second_offset`` and :func:`effect`'s keys)."""
    first_instances = motif_instances(first, len(background), seed)
    second_instances = motif_instances(second, len(background), seed + 1)
    with_first = place(background, first_instances, column_of(model.config, first_offset, first_instances.shape[1]))
    base = scores(model, with_first)
    rows = []
    for spacing in spacings:
        offset = first_offset - spacing - second_instances.shape[1]
        both = place(with_first, second_instances, column_of(model.config, offset, second_instances.shape[1]))
        rows.append({"spacing": int(spacing), "second_offset": int(offset), **effect(base, scores(model, both))})
    return rows


def gia(model_dir, fasta, outdir, prefix: str, motif: str, motif_name: str | None = None, offsets=(-12,),
        second: str | None = None, second_name: str | None = None, spacings=(), count: int = 500, seed: int = 0,
        topology: str = "auto") -> dict:
    """The gia step: effects of ``motif`` (a word, or a motif file with ``motif_name``) and of its shuffled control
    at each of ``offsets``, and, with ``second``, the spacing scan of ``second`` upstream of ``motif`` placed at the
    offset where its effect is largest. Writes ``<prefix>.gia.tsv``, ``<prefix>.gia.json`` and ``<prefix>.gia.png``;
    returns the summary."""
    from pygenome.io.genome import read_genome
    from pygenome.model import load_model

    if count < 2:
        raise InputError(f"--backgrounds must be at least 2, not {count}")
    if not offsets:
        raise InputError("give at least one offset (--at)")
    model, record = load_model(model_dir)
    genome = read_genome(fasta, topology)
    first, first_label = _motif(motif, motif_name)
    background = backgrounds(genome, count, window_length(model.config), seed)
    rows = []
    for label, chosen, control in ((first_label, first, 0), (f"{first_label} (shuffled)", shuffled_control(first,
                                                                                                      seed), 1)):
        rows += [{"analysis": "position", "motif": label, "control": control, "spacing": None, **row}
                 for row in positional_effects(model, background, chosen, offsets, seed)]
    summary = {"pygenome": __version__, "backgrounds": count, "seed": seed, "model": record["model"],
               "fasta": Path(fasta).name, "motif": first_label, "offsets": [int(o) for o in offsets]}
    if second is not None:
        if not spacings:
            raise InputError("a spacing scan needs spacings (--spacings FROM TO)")
        other, other_label = _motif(second, second_name)
        anchor = max((row for row in rows if row["control"] == 0), key=lambda row: row["mean"])["offset"]
        scan = spacing_effects(model, background, first, anchor, other, spacings, seed)
        rows += [{"analysis": "spacing", "motif": f"{other_label} upstream of {first_label}", "control": 0,
                  "offset": row.pop("second_offset"), **row} for row in scan]
        best = max(scan, key=lambda row: row["mean"])
        summary["spacing"] = {"second": other_label, "first_offset": anchor, "best": best["spacing"],
                              "best_mean": best["mean"]}
    table = pd.DataFrame(rows)[["analysis", "motif", "control", "offset", "spacing", "mean", "sd", "ci_low",
                                "ci_high", "probability_mean", "probability_sd"]]
    summary["effects"] = json.loads(table.to_json(orient="records"))
    outdir = Path(outdir)
    with atomic_outputs(*(outdir / f"{prefix}.{suffix}" for suffix in suffixes("gia"))) as (tsv, js, png):
        table.to_csv(tsv, sep="\t", index=False, float_format="%.6g")
        write_json(js, summary, indent=2)
        gia_effects(table, png)
    return summary


def _motif(motif: str, name: str | None):
    """A word, or the probability matrix of ``name`` in the motif file ``motif``; and its label."""
    from pygenome.io.motifs import motif_matrix

    if Path(motif).is_file():
        if name is None:
            raise InputError(f"{motif}: name the motif to place (--motif-name)")
        return motif_matrix(motif, name), name
    if name is not None or not motif or set(motif.upper()) - set("ACGT"):
        raise InputError(f"{motif!r}: a motif is a word of A, C, G and T or an existing motif file")
    return motif.upper(), motif.upper()
