"""Figures of searches and of specs that vary several parameters: best so far against compute, each
parameter against the score (slice), all parameters at once (parallel coordinates), importance."""

import numpy as np

from fer_bench.report.figures import plt, png_bytes
from fer_bench.report.order import natural_key

AXES = ((0, "trials"), (1, "training epochs spent"), (2, "training seconds spent"))


def best_so_far(curves: dict[str, list[list[tuple]]], objective: str) -> bytes:
    """Three panels: the best objective so far against trials, epochs and training seconds, one line per
    strategy; where a strategy ran under several search seeds, their median and range."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    for color, (strategy, runs) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], curves.items()):
        for ax, (column, _) in zip(axes, AXES):
            steps = [[(point[column], point[3]) for point in run if point[3] is not None] for run in runs]
            steps = [s for s in steps if s]
            if not steps:
                continue
            if len(steps) == 1:
                ax.step(*zip(*steps[0]), where="post", marker="o", markersize=3, color=color, label=strategy)
                continue
            grid = np.unique([x for s in steps for x, _ in s])
            values = np.array([_step_at(s, grid) for s in steps])  # NaN before a run's first score
            known = ~np.isnan(values).any(axis=0)
            ax.step(grid[known], np.median(values[:, known], axis=0), where="post", color=color,
                    label=f"{strategy} ({len(steps)} seeds)")
            ax.fill_between(grid[known], values[:, known].min(axis=0), values[:, known].max(axis=0), step="post",
                            alpha=0.2, color=color)
    for ax, (_, label) in zip(axes, AXES):
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"best {objective} so far")
    axes[0].legend(fontsize=8)
    return png_bytes(fig)


def _step_at(steps: list[tuple], grid: np.ndarray) -> np.ndarray:
    xs, ys = np.array([x for x, _ in steps]), np.array([y for _, y in steps], dtype=float)
    index = np.searchsorted(xs, grid, side="right") - 1
    return np.where(index >= 0, ys[np.clip(index, 0, None)], np.nan)


def parameter_scores(results: dict[str, list[tuple[int, dict, float | None]]], objective: str) -> bytes:
    """One panel per parameter: its value against the trial's score (a slice plot); lists and names as
    categories."""
    keys = list(next(params for rows in results.values() for _, params, _ in rows))
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        values = [params[key] for rows in results.values() for _, params, score in rows if score is not None]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        categories = sorted({str(v) for v in values}, key=natural_key) if not numeric else []
        for group, rows in results.items():
            xs = [params[key] if numeric else categories.index(str(params[key]))
                  for _, params, score in rows if score is not None]
            ys = [score for _, _, score in rows if score is not None]
            ax.scatter(xs, ys, s=18, alpha=0.7, label=group)
        positive = numeric and values and min(values) > 0
        if positive and max(values) / min(values) >= 100:
            ax.set_xscale("log")
        if categories:
            ax.set_xticks(range(len(categories)), categories, rotation=20, ha="right", fontsize=7)
        ax.set_xlabel(key.rsplit(".", 1)[-1])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(objective)
    if len(results) > 1:
        axes[0][-1].legend(fontsize=7)
    return png_bytes(fig)
