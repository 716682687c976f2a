"""Every pair of a family's variants compared, the p-values corrected for how many pairs there are.

Seven filter chains make 21 pairs: tested one by one at 0.05, about one would "differ" by chance alone.
Each pair is paired over shared seeds, else Welch's (stats.two_samples); the p-values are corrected
together (Holm by default, statsmodels' multipletests); each pair carries its effect size and power.
"""

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from fer_bench.report.order import variant_order
from fer_bench.report.power import Power, power_of
from fer_bench.report.stats import ALPHA, paired_seeds, two_samples

CORRECTION = "holm"
CORRECTION_NAMES = {"holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini-Hochberg"}


@dataclass
class Pair:
    a: str  # the variant with the higher mean
    b: str
    test: str
    n: int
    difference: float  # mean of a minus mean of b (>= 0)
    effect: float | None  # standardised: d_z over paired differences, else Cohen's d (pooled spread)
    p_value: float | None
    p_corrected: float | None
    power: Power | None

    @property
    def significant(self) -> bool:
        return self.p_corrected is not None and self.p_corrected < ALPHA


def all_pairs(frame: pd.DataFrame, metric: str, method: str = CORRECTION, lower_is_better: bool = False) -> list[Pair]:
    """Every pair of the variants in `frame` (complete trials of one family) on `metric`, in the
    order the spec lists them, with p-values corrected over all pairs that could be tested. Each pair puts
    the better variant first (the higher, or the lower of a calibration error or a loss); its difference
    and effect are the first one's advantage."""
    done = frame[frame["status"] == "complete"].dropna(subset=[metric])
    sign = -1.0 if lower_is_better else 1.0
    samples = {v: sign * done[done["variant"] == v].set_index("seed")[metric] for v in variant_order(done)}
    pairs = []
    for first, second in itertools.combinations(samples, 2):
        a, b = (first, second) if samples[first].mean() >= samples[second].mean() else (second, first)
        test, n, p = two_samples(samples[a], samples[b])
        pairs.append(Pair(a, b, test, n, float(samples[a].mean() - samples[b].mean()),
                          effect_size(samples[a], samples[b]), p, None, power_of(samples[a], samples[b])))
    tested = [pair for pair in pairs if pair.p_value is not None]
    if tested:
        corrected = multipletests([pair.p_value for pair in tested], alpha=ALPHA, method=method)[1]
        for pair, p in zip(tested, corrected):
            pair.p_corrected = float(p)
    return pairs


def effect_size(a: pd.Series, b: pd.Series) -> float | None:
    """d_z (mean over sd of the paired differences) when the seeds pair up, else Cohen's d."""
    shared = paired_seeds(a, b)
    if shared is not None:
        diffs = (a[shared] - b[shared]).to_numpy(dtype=float)
        spread = np.std(diffs, ddof=1)
        return None if spread == 0 else float(diffs.mean() / spread)
    if len(a) < 2 or len(b) < 2:
        return None
    pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    return None if pooled == 0 else float((a.mean() - b.mean()) / pooled)


def correction_note(pairs: list[Pair], method: str = CORRECTION) -> str:
    tested = sum(pair.p_value is not None for pair in pairs)
    return f"{CORRECTION_NAMES.get(method, method)}-corrected over {tested} pair{'s' if tested != 1 else ''}"
