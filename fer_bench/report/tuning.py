"""Tuning curves: the expected best score after k trials of random search, with distribution-free
confidence bands (Lourie, Cho and He, "Show Your Work with Confidence", NAACL 2024), computed by their
`opda` package from the distinct full-budget scores a random search (or a grid, read in random order)
measured. They answer "how many trials would random search need", which a best-so-far line over two
search seeds cannot."""

import json

import numpy as np

from fer_bench.report.figures import plt, png_bytes
from fer_bench.report.frames import budget, training_key

STRATEGIES = ("random", "grid")  # the strategies whose trials are draws from the space
CONFIDENCE = 0.80
METHOD = "ld_equal_tailed"  # exact simultaneous coverage; ld_highest_density is a little tighter, 5x slower
SHOWN = (1, 2, 4, 8, 16)  # the table's k
BOUNDS = {"val_accuracy": (0.0, 1.0), "best_val_accuracy": (0.0, 1.0), "val_loss": (0.0, np.inf)}


def distinct_scores(records: list[dict], strategy: str) -> tuple[list[float], int | None]:
    """(one score per distinct configuration the strategy trained at its full budget, that budget in epochs):
    the same configuration trained again under another search seed is the same measurement; a configuration's
    score is the mean over its executions."""
    mine = [r for r in records if r["search"]["strategy"] == strategy and r.get("status") == "complete"
            and r["search"].get("objective_value") is not None]
    if not mine:
        return [], None
    full = max(budget(r)[0] or 0 for r in mine)
    trainings: dict[str, dict] = {}
    for record in mine:  # the first record of each training, as the importance section takes it
        if budget(record) == (full, False):
            trainings.setdefault(training_key(record), record)
    by_point: dict[str, list[float]] = {}  # a configuration's executions (seeds) averaged
    for record in trainings.values():
        by_point.setdefault(json.dumps(record["params"], sort_keys=True), []).append(
            float(record["search"]["objective_value"]))
    return [float(np.mean(v)) for v in by_point.values()], full


def curve(scores: list[float], ns, objective: str, direction: str) -> dict[str, np.ndarray]:
    """The expected best after each k in `ns` (the average tuning curve) and its simultaneous band."""
    from opda.nonparametric import EmpiricalDistribution

    low, high = BOUNDS.get(objective, (-np.inf, np.inf))
    lower_cdf, point_cdf, upper_cdf = EmpiricalDistribution.confidence_bands(
        np.asarray(scores, dtype=float), CONFIDENCE, a=low, b=high, method=METHOD, n_jobs=1)
    ns, minimize = np.asarray(ns), direction == "min"
    # the higher CDF puts its mass on lower scores, so it gives the band's lower edge, maximising or minimising
    return {"k": ns, "expected": point_cdf.average_tuning_curve(ns, minimize=minimize),
            "low": upper_cdf.average_tuning_curve(ns, minimize=minimize),
            "high": lower_cdf.average_tuning_curve(ns, minimize=minimize)}


def tuning_section(name: str, records: list[dict], store) -> list[dict]:
    """Per strategy among STRATEGIES with 3 or more distinct full-budget scores: its curve's rows at SHOWN, and
    one figure for all of them (appended to the first row)."""
    objective, direction = records[0]["search"]["objective"], records[0]["search"]["direction"]
    rows, curves = [], {}
    for strategy in STRATEGIES:
        scores, epochs = distinct_scores(records, strategy)
        if len(scores) < 3:
            continue
        ks = np.arange(1, max(SHOWN[-1], 2 * len(scores)) + 1)
        curves[strategy] = (curve(scores, ks, objective, direction), epochs)
        points = curves[strategy][0]
        rows.append({"strategy": strategy + (" (random order)" if strategy == "grid" else ""), "n": len(scores),
                     "epochs": epochs, "cells": [(k, float(points["expected"][k - 1]), float(points["low"][k - 1]),
                                                  float(points["high"][k - 1])) for k in SHOWN]})
    if rows:
        rows[0]["figure"] = (
            f"Expected best {objective} after k trials of random search at the full budget, with "
            f"{CONFIDENCE:.0%} simultaneous confidence bands (opda, {METHOD}), against trials and against epochs",
            store.add(f"{name}-tuning-curves", figure(curves, objective)))
    return rows


def figure(curves: dict, objective: str) -> bytes:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for strategy, (points, epochs) in curves.items():
        for ax, scale in zip(axes, (1, epochs or 1)):
            x = points["k"] * scale
            line, = ax.plot(x, points["expected"], label=strategy)
            # an unbounded objective (a loss) has no finite edge on its bad side: the band stops at the curve
            high = np.where(np.isfinite(points["high"]), points["high"], points["expected"])
            low = np.where(np.isfinite(points["low"]), points["low"], points["expected"])
            ax.fill_between(x, low, high, alpha=0.2, color=line.get_color())
    axes[0].set_xlabel("trials (k)")
    axes[1].set_xlabel("training epochs (k x epochs per configuration)")
    axes[0].set_ylabel(f"expected best {objective}")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return png_bytes(fig)
