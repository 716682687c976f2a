"""The reliability diagram: for the best variant and the runner-up, accuracy against confidence per bin of
top-label confidence on PublicTest, the bins of all seeds pooled (records keep them as sums,
training/quality.py `reliability_bins`)."""

import numpy as np

from fer_bench.report.figures import plt, png_bytes

SPLIT = "public_test"


def pooled(records: list[dict], split: str = SPLIT) -> dict | None:
    """The records' bins added up; None when none of them kept bins (records older than them)."""
    kept = [r["reliability"][split] for r in records if (r.get("reliability") or {}).get(split)]
    if not kept:
        return None
    return {key: np.sum([k[key] for k in kept], axis=0) for key in ("count", "correct", "confidence")}


def calibration_error(bins: dict) -> float:
    """ECE of pooled bins: sum over bins of |right - confidence sum| over all predictions."""
    return float(np.abs(bins["correct"] - bins["confidence"]).sum() / max(bins["count"].sum(), 1))


def diagram(panels: list[tuple[str, dict]]) -> bytes:
    """One panel per (variant, pooled bins): per bin the accuracy as a bar at the bin's place, the mean
    confidence as an outline, the diagonal of perfect calibration, and how many predictions fell in each bin."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    for ax, (title, bins) in zip(axes[0], panels):
        count = bins["count"].astype(float)
        edges = np.linspace(0, 1, len(count) + 1)
        middle, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
        seen = count > 0
        accuracy = np.divide(bins["correct"], count, out=np.zeros_like(count), where=seen)
        confidence = np.divide(bins["confidence"], count, out=np.zeros_like(count), where=seen)
        ax.bar(middle[seen], accuracy[seen], width * 0.9, color="tab:blue", alpha=0.8, label="accuracy")
        ax.bar(middle[seen], confidence[seen], width * 0.9, fill=False, edgecolor="tab:red",
               label="mean confidence (the gap: miscalibration)")
        ax.plot([0, 1], [0, 1], "--", color="tab:gray", label="perfect calibration")
        share = ax.twinx()
        share.bar(middle, count / count.sum(), width * 0.9, color="tab:orange", alpha=0.25)
        share.set_ylim(0, 4)  # the share of predictions in the lower quarter, out of the bars' way
        share.set_yticks([])
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="top-label confidence", ylabel="accuracy",
               title=f"{title}\nECE {calibration_error(bins) * 100:.2f} points, {int(count.sum()):,} predictions")
        ax.grid(alpha=0.3)
    axes[0][0].legend(loc="upper left", fontsize=8)
    return png_bytes(fig)
