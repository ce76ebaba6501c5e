"""Statistics shared by the analysis steps: multiple-testing correction."""

from __future__ import annotations

import numpy as np
from scipy.stats import false_discovery_control

from pygenome.errors import InputError


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini–Hochberg q-values (step-up adjusted p-values) of ``p_values``: same shape, ``float64``.

    With the m non-NaN p-values sorted, ``p_(1) <= ... <= p_(m)``, the q-value of ``p_(i)`` is
    ``min(1, min over j >= i of p_(j) * m / j)``: monotone in p, at most 1 (scipy's ``false_discovery_control``;
    this adds what it lacks: NaN p-values give NaN q-values and are not counted in m, any shape, and a clear error).
    Raises :class:`InputError` for a p-value outside [0, 1].
    """
    p_values = np.asarray(p_values, dtype=np.float64)
    q_values = np.full(p_values.shape, np.nan)
    valid = ~np.isnan(p_values)
    values = p_values[valid]
    if ((values < 0) | (values > 1)).any():
        raise InputError(f"p-values must lie in [0, 1]; got {values[(values < 0) | (values > 1)][0]!r}")
    if values.size:
        q_values[valid] = false_discovery_control(values, method="bh")
    return q_values
