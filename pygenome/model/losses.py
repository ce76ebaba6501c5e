"""Losses for extremely imbalanced per-nucleotide labels (about 1 TSS in 5,000 positions in E. coli).

Each loss is defined here twice over, on two inputs, and the tests hold the two equal: in training on logits
``(N, 2)`` and targets ``(N,)`` (0, 1, or :data:`pygenome.model.windows.IGNORE`), returning the *sum* over the
positions not ignored (the caller divides by a fixed count, the batch's positions, ignored ones too, so the loss of a
batch does not depend on how it is split over processes), with PyTorch's fused ops; in evaluation
(:func:`mean_loss`) on the probabilities ``(N,)`` that inference streams out, in float64 numpy, the mean over the
positions.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

LOSSES = ("focal", "weighted_ce")


def focal_loss_sum(logits: torch.Tensor, targets: torch.Tensor, gamma: float) -> torch.Tensor:
    """Focal loss (Lin et al. 2017), ``-(1 - p_t)^gamma · log p_t``, summed; gamma 0 is cross-entropy."""
    valid = targets >= 0
    log_p = F.log_softmax(logits[valid].float(), dim=-1).gather(1, targets[valid, None]).squeeze(1)
    return (-(1 - log_p.exp()).pow(gamma) * log_p).sum()


def weighted_ce_sum(logits: torch.Tensor, targets: torch.Tensor, positive_weight: float) -> torch.Tensor:
    """Cross-entropy with class 1 weighted ``positive_weight`` times class 0, summed."""
    weight = torch.tensor([1.0, positive_weight], device=logits.device)
    return F.cross_entropy(logits.float(), targets, weight=weight, ignore_index=-1, reduction="sum")


def loss_sum(logits: torch.Tensor, targets: torch.Tensor, config) -> torch.Tensor:
    """The training loss of ``config`` (its ``loss``, ``focal_gamma``, ``positive_weight``), summed."""
    if config.loss == "focal":
        return focal_loss_sum(logits, targets, config.focal_gamma)
    return weighted_ce_sum(logits, targets, config.positive_weight)


def mean_loss(probabilities: np.ndarray, labels: np.ndarray, config) -> float:
    """The same loss, averaged over positions, of probabilities of class 1 ``(N,)`` against labels ``(N,)`` (bool);
    the probability of the true class is clipped to ``[1e-7, 1]``."""
    p_true = np.clip(np.where(labels, probabilities, 1 - probabilities), 1e-7, 1)
    if config.loss == "focal":
        return float(np.mean(-((1 - p_true) ** config.focal_gamma) * np.log(p_true)))
    return float(np.mean(-np.where(labels, config.positive_weight, 1.0) * np.log(p_true)))
