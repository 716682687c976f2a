"""Statistics over seeds: mean, spread, 95% confidence intervals, and the two-sample test of two variants."""

import warnings

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05


def summarize(values, bounds: tuple[float, float] | None = None) -> dict:
    """n, mean, sample standard deviation and the 95% t-interval of the mean.

    With `bounds`, the metric's range, the interval is clipped to it: the t-interval of two accuracies
    can reach below 0, an accuracy cannot. `wide`: the interval is wider than the values' spread, so
    it speaks of how few they are more than of the values (two seeds: about 13 times their spread).
    """
    x = np.asarray([v for v in values if v is not None and not pd.isna(v)], dtype=float)
    n = len(x)
    if n == 0:
        return {"n": 0, "mean": None, "std": None, "ci_low": None, "ci_high": None, "wide": False}
    mean = float(x.mean())
    if n == 1:
        return {"n": 1, "mean": mean, "std": None, "ci_low": None, "ci_high": None, "wide": False}
    # equal values (one computation counted several times) spread by 0, not by float rounding (3e-17), which
    # would give an interval of zero width the mark "wide"
    std = 0.0 if np.ptp(x) <= 1e-12 * max(1.0, abs(mean)) else float(x.std(ddof=1))
    half = float(stats.t.ppf(1 - ALPHA / 2, n - 1) * std / np.sqrt(n))
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return {"n": n, "mean": mean, "std": std, "ci_low": low, "ci_high": high, "wide": bool(2 * half > np.ptp(x))}


def two_samples(a: pd.Series, b: pd.Series) -> tuple[str, int, float | None]:
    """(test, n, p-value) for a against b, both indexed by seed: paired over the same seeds, else Welch's."""
    if len(a) >= 2 and len(b) >= 2 and a.std() == 0 and b.std() == 0:  # deterministic runs: no noise at all
        return "equal values per side", min(len(a), len(b)), 1.0 if a.iloc[0] == b.iloc[0] else 0.0
    with warnings.catch_warnings():  # near-identical samples: SciPy warns, and the p-value says it anyway
        warnings.simplefilter("ignore", RuntimeWarning)
        return _t_test(a, b)


def paired_seeds(a: pd.Series, b: pd.Series) -> pd.Index | None:
    """The seeds both sides ran, when they ran exactly the same ones (two or more): a paired design."""
    shared = a.index.intersection(b.index)
    if len(shared) >= 2 and len(shared) == len(a) == len(b) and a.index.is_unique and b.index.is_unique:
        return shared
    return None


def _t_test(a: pd.Series, b: pd.Series) -> tuple[str, int, float | None]:
    shared = paired_seeds(a, b)
    if shared is not None:
        diffs = a[shared] - b[shared]
        if np.allclose(diffs, diffs.iloc[0]):  # a constant difference has no spread to test against
            return "paired t-test over seeds", len(shared), 1.0 if diffs.iloc[0] == 0 else 0.0
        return "paired t-test over seeds", len(shared), _finite(float(stats.ttest_rel(a[shared], b[shared]).pvalue))
    if len(a) >= 2 and len(b) >= 2:
        return "Welch's t-test", min(len(a), len(b)), _finite(float(stats.ttest_ind(a, b, equal_var=False).pvalue))
    return "none", min(len(a), len(b)), None


def _finite(p: float) -> float | None:
    return p if np.isfinite(p) else None
