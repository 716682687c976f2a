"""Statistics over seeds: mean, spread, 95% confidence intervals, and a best-vs-runner-up test."""

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from fer_bench.report.order import variant_order

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
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(1 - ALPHA / 2, n - 1) * std / np.sqrt(n))
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return {"n": n, "mean": mean, "std": std, "ci_low": low, "ci_high": high, "wide": bool(2 * half > np.ptp(x))}


@dataclass
class Verdict:
    best: str
    runner_up: str
    test: str
    n: int
    difference: float
    p_value: float | None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA

    def sentence(self, metric: str) -> str:
        if self.p_value is None and round(self.difference * 100, 2) == 0:
            return f"{self.best} and {self.runner_up} tie on {metric}; too few seeds (n={self.n}) to say more."
        if self.p_value is None:
            return (f"{self.best} leads {self.runner_up} by {self.difference * 100:.2f} points of {metric}; "
                    f"too few seeds (n={self.n}) to tell it from noise.")
        if self.significant:
            return (f"{self.best} beats {self.runner_up} by {self.difference * 100:.2f} points of {metric}, "
                    f"beyond noise ({self.test}, n={self.n}, p={self.p_value:.3g}).")
        return (f"{self.best} and {self.runner_up} are within noise on {metric}: difference "
                f"{self.difference * 100:.2f} points ({self.test}, n={self.n}, p={self.p_value:.3g}).")


def compare_best(frame: pd.DataFrame, metric: str) -> Verdict | None:
    """Best variant (by mean) against the runner-up: a paired t-test over shared seeds, else Welch's."""
    done = frame[frame["status"] == "complete"].dropna(subset=[metric])
    # Equal means: the one the spec lists first leads, as in the tables.
    means = done.groupby("variant")[metric].mean().reindex(variant_order(done))
    means = means.sort_values(ascending=False, kind="stable")
    if len(means) < 2:
        return None
    best, runner_up = means.index[0], means.index[1]
    a = done[done["variant"] == best].set_index("seed")[metric]
    b = done[done["variant"] == runner_up].set_index("seed")[metric]
    test, n, p = two_samples(a, b)
    return Verdict(best, runner_up, test, n, float(means.iloc[0] - means.iloc[1]), p)


def two_samples(a: pd.Series, b: pd.Series) -> tuple[str, int, float | None]:
    """(test, n, p-value) for a against b, both indexed by seed: paired over the same seeds, else Welch's."""
    if len(a) >= 2 and len(b) >= 2 and a.std() == 0 and b.std() == 0:  # deterministic runs: no noise at all
        return "equal values per side", min(len(a), len(b)), 1.0 if a.iloc[0] == b.iloc[0] else 0.0
    with warnings.catch_warnings():  # near-identical samples: SciPy warns, and the p-value says it anyway
        warnings.simplefilter("ignore", RuntimeWarning)
        return _t_test(a, b)


def _t_test(a: pd.Series, b: pd.Series) -> tuple[str, int, float | None]:
    shared = a.index.intersection(b.index)
    if len(shared) >= 2 and len(shared) == len(a) == len(b) and a.index.is_unique and b.index.is_unique:
        diffs = a[shared] - b[shared]
        if np.allclose(diffs, diffs.iloc[0]):  # a constant difference has no spread to test against
            return "paired t-test over seeds", len(shared), 1.0 if diffs.iloc[0] == 0 else 0.0
        return "paired t-test over seeds", len(shared), _finite(float(stats.ttest_rel(a[shared], b[shared]).pvalue))
    if len(a) >= 2 and len(b) >= 2:
        return "Welch's t-test", min(len(a), len(b)), _finite(float(stats.ttest_ind(a, b, equal_var=False).pvalue))
    return "none", min(len(a), len(b)), None


def _finite(p: float) -> float | None:
    return p if np.isfinite(p) else None
