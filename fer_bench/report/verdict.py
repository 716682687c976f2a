"""A family's verdict: its best variant against the runner-up, judged among all its pairs (corrected)."""

from dataclasses import dataclass

import pandas as pd

from fer_bench.report.order import variant_order
from fer_bench.report.pairs import CORRECTION, Pair, all_pairs, correction_note
from fer_bench.report.power import Power
from fer_bench.report.stats import ALPHA


@dataclass
class Verdict:
    best: str
    runner_up: str
    test: str
    n: int
    difference: float
    p_value: float | None  # the pair's own
    p_corrected: float | None  # over every pair of the family: what the verdict goes by
    correction: str  # e.g. "Holm-corrected over 3 pairs"
    power: Power | None

    @property
    def significant(self) -> bool:
        return self.p_corrected is not None and self.p_corrected < ALPHA

    def sentence(self, metric: str, points: bool = True) -> str:
        """`points`: the metric is a fraction shown x100 (accuracy, ECE); else its own units (NLL, Brier)."""
        power = self.power.sentence(points) if self.power is not None else ""
        power = f"; {power}" if power else ""
        amount = f"{self.difference * 100:.2f} points" if points else f"{self.difference:.4f}"
        tie = round(self.difference * 100, 2) == 0 if points else round(self.difference, 4) == 0
        if self.p_corrected is None and tie:
            return f"{self.best} and {self.runner_up} tie on {metric}; too few seeds (n={self.n}) to say more."
        if self.p_corrected is None:
            return (f"{self.best} leads {self.runner_up} by {amount} of {metric}; "
                    f"too few seeds (n={self.n}) to tell it from noise.")
        p = f"p={self.p_corrected:.3g} {self.correction}"
        if self.significant:
            return (f"{self.best} beats {self.runner_up} by {amount} of {metric}, "
                    f"beyond noise ({self.test}, n={self.n}, {p}){power}.")
        return (f"{self.best} and {self.runner_up} are within noise on {metric}: difference "
                f"{amount} ({self.test}, n={self.n}, {p}){power}.")


def compare_best(frame: pd.DataFrame, metric: str, pairs: list[Pair] | None = None,
                 method: str = CORRECTION, lower_is_better: bool = False) -> Verdict | None:
    """Best variant (by mean; the lowest of a calibration error or a loss) against the runner-up: paired over
    shared seeds, else Welch's; the p-value corrected over every pair of the family (`pairs`, or all_pairs of
    `frame`)."""
    done = frame[frame["status"] == "complete"].dropna(subset=[metric])
    # Equal means: the one the spec lists first leads, as in the tables.
    means = done.groupby("variant")[metric].mean().reindex(variant_order(done))
    if lower_is_better:
        means = -means
    means = means.sort_values(ascending=False, kind="stable")
    if len(means) < 2:
        return None
    best, runner_up = means.index[0], means.index[1]
    pairs = all_pairs(done, metric, method, lower_is_better) if pairs is None else pairs
    pair = next(p for p in pairs if {p.a, p.b} == {best, runner_up})
    return Verdict(best, runner_up, pair.test, pair.n, float(means.iloc[0] - means.iloc[1]), pair.p_value,
                   pair.p_corrected, correction_note(pairs, method), pair.power)
