"""Statistics shared by the analysis steps: multiple-testing correction."""

from __future__ import annotations

import numpy as np

from pygenome.errors import InputError


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini–Hochberg q-values (step-up adjusted p-values) of ``p_values``: same shape, ``float64``.

    With the m non-NaN p-values sorted, ``p_(1) <= ... <= p_(m)``, the q-value of ``p_(i)`` is
    ``min(1, min over j >= i of p_(j) * m / j)``: monotone in p, at most 1. NaN p-values give NaN q-values and are not
    counted in m. Raises :class:`InputError` for a p-value outside [0, 1].
    """
    p_values = np.asarray(p_values, dtype=np.float64)
    q_values = np.full(p_values.shape, np.nan)
    valid = ~np.isnan(p_values)
    values = p_values[valid]
    if ((values < 0) | (values > 1)).any():
        raise InputError(f"p-values must lie in [0, 1]; got {values[(values < 0) | (values > 1)][0]!r}")
    order = np.argsort(values, kind="stable")
    scaled = values[order] * values.size / np.arange(1, values.size + 1)
    adjusted = np.empty(values.size)
    adjusted[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    q_values[valid] = adjusted
    return q_values
