"""What a comparison could have seen: the smallest difference its runs detect with 80% power, and how
many seeds the observed difference would need, from the observed spread (the t-test's power, as
statsmodels' TTestPower and TTestIndPower give it)."""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from fer_bench.report.stats import ALPHA, paired_seeds

POWER = 0.8
MOST_SEEDS = 10_000  # beyond this, "more than"


@dataclass
class Power:
    design: str  # "paired" (the same seeds on both sides) or "independent"
    n: int  # runs per side (paired: shared seeds)
    spread: float  # standard deviation of the paired differences, or the pooled one
    detectable: float | None  # smallest true difference found with POWER at ALPHA; None where n < 2
    seeds_needed: int | None  # per side, for the observed difference; None where there is none to find

    def sentence(self, points: bool = True) -> str:
        if self.detectable is None:
            return ""
        if self.spread == 0:
            return f"the runs have no spread (n={self.n}), so any difference shows"
        need = "" if self.seeds_needed is None else (
            f"; telling the observed difference from noise needs about {self.seeds_needed} seeds a side"
            if self.seeds_needed <= MOST_SEEDS else f"; the observed difference would need over {MOST_SEEDS:,} "
                                                    f"seeds a side")
        smallest = f"{self.detectable * 100:.2f} points" if points else f"{self.detectable:.4f}"
        return f"with n={self.n} ({self.design}) the smallest difference found 80% of the time is {smallest}{need}"


def power_of(a: pd.Series, b: pd.Series) -> Power | None:
    """The power of comparing a with b (values indexed by seed), by the test stats.two_samples chooses."""
    a, b = a.dropna(), b.dropna()
    shared = paired_seeds(a, b)
    if shared is not None:
        diffs = (a[shared] - b[shared]).to_numpy(dtype=float)
        n, spread, observed = len(diffs), float(np.std(diffs, ddof=1)), abs(float(diffs.mean()))
        design = "paired"
    elif len(a) >= 2 and len(b) >= 2:
        n, spread = min(len(a), len(b)), float(np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2))
        observed = abs(float(a.mean() - b.mean()))
        design = "independent"
    else:
        return None
    if spread == 0 or not math.isfinite(spread):
        return Power(design, n, 0.0, 0.0, None)
    power = _power_function(design == "paired")
    needed = _seeds_needed(power, observed / spread) if observed > 0 else None
    return Power(design, n, spread, _detectable(power, n) * spread, needed)


def planning_note(values: dict[str, list[float]], seeds: int, metric: str = "validation accuracy") -> str | None:
    """Before a run, from earlier runs of the same variants (values per variant): the seed-to-seed spread,
    and the smallest difference between two variants that `seeds` seeds each would find 80% of the
    time (independent samples: conservative, since pairing over shared seeds only narrows it)."""
    spreads = [float(np.std(v, ddof=1)) for v in values.values() if len(v) >= 2]
    if not spreads:
        return None
    spread = float(np.median(spreads))  # the typical variant's: one that collapsed on a seed would dominate a mean
    runs = sum(len(v) for v in values.values())
    if spread == 0:
        return f"{runs} earlier runs here: no spread over seeds in {metric}, so any difference shows"
    detectable = _detectable(_power_function(False), max(seeds, 2)) * spread
    return (f"{runs} earlier runs here: {metric} varies by {spread * 100:.2f} points (sd, median over "
            f"{len(spreads)} variants) from seed to seed; with {max(seeds, 2)} seeds a variant, two variants must "
            f"differ by about {detectable * 100:.2f} points to be told apart 80% of the time (p < {ALPHA})")


def _power_function(paired: bool):
    """power(effect size, runs a side) of the two-sided t-test at ALPHA: the noncentral t's tail beyond
    the critical values. It is what statsmodels' TTestPower and TTestIndPower compute (tests/report check
    that they agree), taken from the CDF: statsmodels takes the survival function, which SciPy returns as
    NaN for a large noncentrality (a clear difference over few seeds), and statsmodels then a power of 0."""

    def power(effect: float, n: int) -> float:
        df, noncentrality = (n - 1, effect * math.sqrt(n)) if paired else (2 * n - 2, effect * math.sqrt(n / 2))
        critical = stats.t.ppf(1 - ALPHA / 2, df)
        upper = 1 - stats.nct.cdf(critical, df, noncentrality)
        if not math.isfinite(upper):  # SciPy's CDF fails too at some large noncentralities: the normal limit
            upper = stats.norm.sf(critical - noncentrality)
        # The far tail, against the difference: SciPy gives NaN where it underflows to nothing.
        lower = stats.nct.cdf(-critical, df, noncentrality)
        value = float(upper) + (float(lower) if math.isfinite(lower) else 0.0)
        return value if math.isfinite(value) else 0.0

    return power


def _detectable(power, n: int) -> float:
    """The smallest standardised effect found with POWER in n runs a side (power grows with the effect)."""
    low, high = 0.0, 1.0
    while power(high, n) < POWER and high < 1e6:
        low, high = high, high * 2
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if power(middle, n) < POWER else (low, middle)
    return high


def _seeds_needed(power, effect: float) -> int:
    """The fewest runs a side (2 or more) that find `effect` with POWER; MOST_SEEDS + 1 beyond that."""
    if power(effect, MOST_SEEDS) < POWER:
        return MOST_SEEDS + 1
    low, high = 1, MOST_SEEDS  # power(low) < POWER <= power(high), power growing with the runs
    if power(effect, 2) >= POWER:
        return 2
    low = 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if power(effect, middle) < POWER else (low, middle)
    return high
