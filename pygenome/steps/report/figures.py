"""The report's own figures, drawn with matplotlib as PNG bytes without its version in them (so the bytes depend on
the drawing alone), and the images embedded in the page: ``{"mime", "data" (base64), "alt"}``."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pandas as pd

from pygenome.interpret.figures import plot_curves

MIME = {"png": "image/png", "svg": "image/svg+xml"}


def image(data: bytes, kind: str, alt: str) -> dict:
    """An embedded image of ``data`` (``kind``: "png" or "svg")."""
    return {"mime": MIME[kind], "data": base64.b64encode(data).decode(), "alt": alt}


def file_image(stem: Path, alt: str) -> dict | None:
    """``<stem>.png`` (else ``<stem>.svg``) as an embedded image, or None when neither exists."""
    for kind in MIME:
        path = Path(f"{stem}.{kind}")
        if path.is_file():
            return image(path.read_bytes(), kind, alt)
    return None


def _new_figure(width: float, height: float):
    """A matplotlib figure of ``width`` × ``height`` inches at 100 dpi, laid out to fit."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(figure, alt: str) -> dict:
    """``figure`` as an embedded PNG (no software tag)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return image(buffer.getvalue(), "png", alt)


def training_figure(history: pd.DataFrame, best_step) -> dict:
    """Loss (training and validation) and validation ROC and PR AUC against the step, the best step marked."""
    figure = _new_figure(10, 3.6)
    loss, auc = figure.subplots(1, 2)
    loss.plot(history["step"], history["train_loss"], marker="o", markersize=3, label="training (mean since the "
                                                                                     "last evaluation)")
    loss.plot(history["step"], history["validation_loss"], marker="o", markersize=3, label="validation")
    loss.set(xlabel="step", ylabel="loss", title="loss")
    for column, name in (("validation_roc_auc", "ROC AUC"), ("validation_pr_auc", "PR AUC")):
        if column in history:
            auc.plot(history["step"], history[column], marker="o", markersize=3, label=name)
    auc.set(xlabel="step", ylim=(0, 1.02), title="validation")
    for axis in (loss, auc):
        if best_step is not None:
            axis.axvline(best_step, color="grey", linestyle=":", linewidth=1, label="best step")
        axis.legend(fontsize=8)
    return _png(figure, "training and validation loss, and validation ROC and PR AUC, against the step")


def curves_figure(evaluation) -> dict:
    """The evaluate step's ROC and precision-recall curves (the baseline's dashed), as the step draws them."""
    buffer = io.BytesIO()
    figures = evaluation["figures"]
    plot_curves(evaluation["roc"], evaluation["pr"], figures, buffer)
    alt = "ROC and precision-recall curves" + (" (baseline dashed)" if "baseline" in figures else "")
    return image(buffer.getvalue(), "png", alt)


def profiles_figure(profiles: pd.DataFrame) -> dict:
    """A heat map of mean attention at sites minus at controls, one row per head and one column per offset;
    significant offsets dotted."""
    profiles = profiles.assign(excess=profiles["site_mean"] - profiles["control_mean"])
    rows = profiles[["genome", "head_id", "layer", "head"]].drop_duplicates().sort_values(
        ["genome", "layer", "head"], kind="mergesort")
    keys = list(zip(rows["genome"], rows["head_id"]))
    offsets = np.sort(profiles["offset"].unique())
    grid = np.full((len(keys), len(offsets)), np.nan)
    row_of = {key: i for i, key in enumerate(keys)}
    row_index = np.array([row_of[key] for key in zip(profiles["genome"], profiles["head_id"])])
    column_index = np.searchsorted(offsets, profiles["offset"].to_numpy())
    grid[row_index, column_index] = profiles["excess"].to_numpy()
    finite = np.abs(grid[np.isfinite(grid)])
    limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    figure = _new_figure(10, 1.2 + 0.22 * len(keys))
    axis = figure.subplots()
    shown = axis.imshow(grid, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest",
                        extent=(offsets[0] - 0.5, offsets[-1] + 0.5, len(keys) - 0.5, -0.5))
    significant = profiles[profiles["significant"] == 1]
    axis.scatter(significant["offset"], [row_of[k] for k in zip(significant["genome"], significant["head_id"])],
                 s=4, color="black", label="significant")
    axis.set_yticks(range(len(keys)), [f"{genome} {head}" for genome, head in keys], fontsize=8)
    axis.set(xlabel="offset from the site (nt; negative is upstream)")
    figure.colorbar(shown, ax=axis, label="attention, sites − controls", shrink=0.9)
    return _png(figure, "attention at sites minus controls for every head and offset")
