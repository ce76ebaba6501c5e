"""Each head's attention around sites, set against the same head at control queries, and its peaks.

A head's profile is its mean attention as a function of the key's position relative to the query (``offset``, nt;
negative: upstream), over the sites and, separately, over the control queries (random positions away from every
site). A causal model's heads also attend at fixed offsets from any query, so only the excess over the controls
counts: at each offset a one-sided Welch t-test asks whether sites attend there more than controls do; its p-values
are corrected by Benjamini–Hochberg over every offset of every head (``q_value``). An offset is significant where
``q_value < alpha`` and the sites' mean is at least ``min_fold`` times the controls'. A peak is a run of significant
offsets (gaps of one offset bridged): its ``summit`` (the offset of the largest excess), ``start`` and ``end``
(inclusive offsets, ``start`` upstream), ``width`` (nt) and ``excess`` (the summed site-minus-control attention over
the run: the share of the head's attention the site adds there).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from pygenome.interpret.stats import benjamini_hochberg

CONFIDENCE = 0.95
PEAK_COLUMNS = ("summit", "start", "end", "width", "excess", "site_mean", "control_mean", "q_value")


def head_profile(sites: np.ndarray, controls: np.ndarray, offset: np.ndarray) -> pd.DataFrame:
    """The profile of one head: ``sites`` ``(N, keys)`` and ``controls`` ``(M, keys)`` attention by key index,
    ``offset`` ``(keys,)`` the key's position relative to the query. One row per key, in the order given, with means
    and their 95 % confidence bands (normal approximation) and the one-sided Welch p-value (sites > controls)."""
    sites, controls = sites.astype(np.float64), controls.astype(np.float64)
    z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
    columns = {"offset": np.asarray(offset)}
    for name, values in (("site", sites), ("control", controls)):
        mean = values.mean(axis=0)
        error = values.std(axis=0, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.full_like(mean, np.nan)
        columns |= {f"{name}_mean": mean, f"{name}_low": mean - z * error, f"{name}_high": mean + z * error}
    with warnings.catch_warnings():  # columns without variance (keys no query sees) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        test = stats.ttest_ind(sites, controls, axis=0, equal_var=False, alternative="greater")
    columns["p_value"] = np.where(np.isnan(test.pvalue), 1.0, test.pvalue)  # NaN: no variance, nothing to see
    return pd.DataFrame(columns)


def add_significance(profiles: pd.DataFrame, alpha: float = 0.01, min_fold: float = 1.5) -> pd.DataFrame:
    """``profiles`` (every head's, stacked) with ``q_value`` (Benjamini–Hochberg over all rows) and ``significant``."""
    profiles = profiles.copy()
    profiles["q_value"] = benjamini_hochberg(profiles["p_value"].to_numpy())
    profiles["significant"] = ((profiles["q_value"] < alpha)
                               & (profiles["site_mean"] >= min_fold * profiles["control_mean"])).astype(np.int8)
    return profiles


def peaks(profile: pd.DataFrame) -> pd.DataFrame:
    """The peaks of one head's profile (with ``significant`` and ``q_value``), strongest (largest excess) first."""
    profile = profile.sort_values("offset").reset_index(drop=True)
    significant = np.flatnonzero(profile["significant"].to_numpy() == 1)
    if not significant.size:
        return pd.DataFrame({column: pd.Series(dtype=float) for column in PEAK_COLUMNS})
    breaks = np.flatnonzero(np.diff(significant) > 2) + 1  # a gap of one offset is bridged
    rows = []
    for run in np.split(significant, breaks):
        span = profile.iloc[run[0]:run[-1] + 1]
        excess = (span["site_mean"] - span["control_mean"]).to_numpy()
        summit = span.iloc[int(np.argmax(excess))]
        rows.append({"summit": int(summit["offset"]), "start": int(span["offset"].iloc[0]),
                     "end": int(span["offset"].iloc[-1]), "width": len(span), "excess": float(excess.sum()),
                     "site_mean": float(summit["site_mean"]), "control_mean": float(summit["control_mean"]),
                     "q_value": float(summit["q_value"])})
    return pd.DataFrame(rows).sort_values("excess", ascending=False, kind="stable").reset_index(drop=True)
