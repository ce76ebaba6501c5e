"""Figures that more than one step draws: the evaluate step's ROC and precision-recall curves, which the report
draws again for the models it shows."""

from __future__ import annotations

import pandas as pd


def plot_curves(roc: pd.DataFrame, pr: pd.DataFrame, figures: dict, path) -> None:
    """ROC and precision-recall curves side by side, one colour per genome and overall, the model's lines solid and
    the baseline's dashed, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5), dpi=100)
    colours = {name: f"C{index}" for index, name in enumerate(dict.fromkeys(roc["genome"]) if len(roc) else [])}
    for (scorer, name), curve in roc.groupby(["scorer", "genome"], sort=False) if len(roc) else []:
        block = figures if scorer == "model" else figures["baseline"]
        stats = block["overall"] if name == "overall" else block["genomes"][name]
        style = {"color": colours[name], "linestyle": "-" if scorer == "model" else "--"}
        shown = name if scorer == "model" else f"{name}, baseline"
        left.plot(curve["false_positive_rate"], curve["true_positive_rate"],
                  label=f"{shown} (AUC {stats['roc_auc']:.3f})", **style)
        curve = pr[(pr["scorer"] == scorer) & (pr["genome"] == name)]
        right.plot(curve["recall"], curve["precision"], label=f"{shown} (AP {stats['pr_auc']:.3f})", **style)
    left.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    where = _positions(figures)
    left.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC, {where}")
    right.set(xlabel="recall", ylabel="precision", title=f"precision-recall, {where}", xlim=(0, 1), ylim=(0, 1.02))
    for axis in (left, right):
        axis.legend(loc="lower right" if axis is left else "upper right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, format="png", metadata={"Software": None})
    plt.close(figure)


def _positions(figures: dict) -> str:
    """The positions evaluated, for a title: "test set", or for ``auto`` the sets the genomes were evaluated on."""
    if figures["set"] != "auto":
        return f"{figures['set']} set"
    sets = sorted({genome["set"] for genome in figures["genomes"].values()})
    return " and ".join("every position" if name == "all" else f"{name} set" for name in sets)
