"""Where a variant's spread comes from: the train/validation split, or the seed (initial weights, batch
order, dropout, augmentation), estimated as variance components of a random-effects model.

A design varies the split by `dataset.split_seed: per_seed` (split and seed change together: only
their sum can be measured) or by a sweep over `dataset.split_seed` (splits crossed with seeds, or
nested: both parts can). The model is statsmodels' linear mixed model with the split as its random
effect, fitted by REML: the split's variance is the random effect's, the seed's the residual's.
"""

import re
import warnings

import numpy as np
import pandas as pd

from fer_bench.report.labels import metric_label

SPLIT_PART = re.compile(r"(^|_)split_seed-[^_]+")


def design_variant(variant: str) -> str:
    """The variant a split sweep repeats: its name less the `split_seed-N` part (sweeps name it so)."""
    stripped = SPLIT_PART.sub("", variant or "").strip("_")
    return stripped or "base"


def components(frame: pd.DataFrame, metric: str) -> list[dict]:
    """Per spec and variant whose runs saw more than one split: runs, splits, seeds, the total spread
    and, where the design separates them, the split's and the seed's (standard deviations)."""
    done = frame[(frame["status"] == "complete") & frame["split_seed"].notna()].dropna(subset=[metric])
    rows = []
    for (spec, variant), group in done.groupby(["spec", done["variant"].map(design_variant)], sort=False):
        splits = group["split_seed"].nunique()
        if splits < 2:
            continue
        row = {"spec": spec, "variant": variant, "metric": metric_label(metric), "runs": len(group),
               "splits": int(splits), "seeds": int(group["seed"].nunique()),
               "total_sd": float(group[metric].std(ddof=1)),
               "split_sd": None, "seed_sd": None, "split_share": None, "design": "per seed"}
        if group.groupby("split_seed").size().max() >= 2:
            row["design"] = "crossed" if _crossed(group) else "nested"
            fitted = _fit(group, metric)
            if fitted is not None:
                split_var, seed_var = fitted
                row.update(split_sd=float(np.sqrt(split_var)), seed_sd=float(np.sqrt(seed_var)),
                           split_share=float(split_var / (split_var + seed_var)) if split_var + seed_var else None)
        rows.append(row)
    return rows


def _crossed(group: pd.DataFrame) -> bool:
    """Every split ran with the same seeds."""
    seeds = group.groupby("split_seed")["seed"].apply(frozenset)
    return seeds.nunique() == 1


def _fit(group: pd.DataFrame, metric: str) -> tuple[float, float] | None:
    """(split variance, seed variance) from statsmodels' MixedLM, REML; None if it cannot be fitted."""
    import statsmodels.formula.api as smf

    data = pd.DataFrame({"value": group[metric].to_numpy(dtype=float),
                         "split": group["split_seed"].astype(int).to_numpy()})
    with warnings.catch_warnings():  # few groups: boundary and convergence notes; the estimate stands
        warnings.simplefilter("ignore")
        try:
            result = smf.mixedlm("value ~ 1", data, groups=data["split"]).fit(reml=True)
        except (ValueError, np.linalg.LinAlgError):
            return None
    split_var, seed_var = float(result.cov_re.iloc[0, 0]), float(result.scale)
    if not (np.isfinite(split_var) and np.isfinite(seed_var)):
        return None
    return max(split_var, 0.0), max(seed_var, 0.0)
