import numpy as np
import pytest

from pygenome.errors import InputError
from pygenome.interpret.stats import benjamini_hochberg


def test_benjamini_hochberg_by_hand():
    # sorted 0.01 0.03 0.04 0.20 (m = 4): p * 4 / rank = 0.04 0.06 0.0533 0.20; the running minimum from the top
    # makes them monotone: 0.04 0.0533 0.0533 0.20; back in the input order:
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.20])
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])


def test_benjamini_hochberg_ties_nan_and_shape():
    assert benjamini_hochberg([0.02, 0.02, 0.5]) == pytest.approx([0.03, 0.03, 0.5])
    q = benjamini_hochberg([[0.02, np.nan], [0.01, np.nan]])  # NaN is not counted: m = 2
    assert q.shape == (2, 2) and np.isnan(q[:, 1]).all() and q[:, 0] == pytest.approx([0.02, 0.02])
    assert benjamini_hochberg([]).shape == (0,)
    assert np.isnan(benjamini_hochberg([np.nan])).all()


def test_benjamini_hochberg_is_monotone_and_at_most_one():
    p = np.random.default_rng(3).uniform(size=500) ** 3
    q = benjamini_hochberg(p)
    order = np.argsort(p)
    assert (np.diff(q[order]) >= 0).all() and (q <= 1).all() and (q >= p).all()
    assert benjamini_hochberg([0.9, 1.0, 0.95]) == pytest.approx([1.0, 1.0, 1.0])


def test_p_values_outside_the_unit_interval_are_refused():
    with pytest.raises(InputError, match="p-values must lie in"):
        benjamini_hochberg([0.5, 1.5])
