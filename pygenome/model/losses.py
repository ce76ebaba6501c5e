"""Losses for extremely imbalanced per-nucleotide labels (about 1 TSS in 5,000 positions in E. coli).

Both take logits ``(N, 2)`` and targets ``(N,)`` (0, 1, or :data:`pygenome.model.windows.IGNORE`) and return the *sum*
over the positions that are not ignored; the caller divides by a fixed count (the batch's positions, ignored ones too),
so the loss of a batch does not depend on how it is split over processes.
"""

from __future__ import annotations

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
