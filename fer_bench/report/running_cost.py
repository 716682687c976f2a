"""What each variant costs to run (records' `running_cost`, training/running_cost.py): a table, and the
score against one-image latency with the Pareto front marked: the variants no other beats on both."""

import pandas as pd

from fer_bench.report.figures import plt, png_bytes
from fer_bench.report.order import variant_groups


def rows(complete: pd.DataFrame) -> list[dict]:
    """Per variant: saved size, one-image latency (median and p90, medians over seeds) and throughput at the
    batch the records name (256, or the whole split where it is smaller); none where no record measured them."""
    if "latency_ms" not in complete or complete["latency_ms"].isna().all():
        return []
    found = []
    for variant, group in variant_groups(complete):
        measured = group.dropna(subset=["latency_ms"])
        if measured.empty:
            continue
        found.append({"variant": variant, "n": len(measured),
                      "saved_mb": measured["saved_bytes"].median() / 1e6,
                      "latency_ms": measured["latency_ms"].median(),
                      "latency_ms_p90": measured["latency_ms_p90"].median(),
                      "images_per_s": measured["inference_images_per_s"].median(),
                      "batch": _batches(measured),
                      "device": ", ".join(sorted(set(measured["device_kind"].dropna()))) or "-"})
    return found


def _batches(measured: pd.DataFrame) -> str:
    if "inference_batch" not in measured:
        return "-"
    return ", ".join(str(int(b)) for b in sorted(set(measured["inference_batch"].dropna()))) or "-"


def pareto_front(points: list[tuple[str, float, float]], lower_is_better: bool = False) -> list[str]:
    """The names among (name, latency, score) that no other point matches or beats on both latency (lower)
    and score (higher; lower where `lower_is_better`) while beating it on one; fastest first."""
    sign = -1 if lower_is_better else 1
    front = []
    for name, latency, score in points:
        beaten = any((other_latency <= latency and sign * other_score >= sign * score)
                     and (other_latency < latency or sign * other_score > sign * score)
                     for other, other_latency, other_score in points if other != name)
        if not beaten:
            front.append((latency, name))
    return [name for _, name in sorted(front)]


def figure(table: list[dict], scores: dict[str, float], score_name: str, lower_is_better: bool,
           points: bool) -> tuple[bytes | None, list[str]]:
    """Each variant's mean score against its median one-image latency; the front joined and ringed. No figure
    where no variant has both."""
    placed = [(row["variant"], row["latency_ms"], scores[row["variant"]]) for row in table
              if row["variant"] in scores and pd.notna(scores[row["variant"]])]
    if not placed:
        return None, []
    front = pareto_front(placed, lower_is_better)
    scale = 100 if points else 1
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, latency, score in placed:
        ax.scatter(latency, score * scale, s=30, zorder=3)
        ax.annotate(name, (latency, score * scale), fontsize=7, xytext=(4, 3), textcoords="offset points")
    on_front = [(latency, score * scale) for name in front for n, latency, score in placed if n == name]
    ax.plot(*zip(*on_front), "-", color="tab:red", lw=1, zorder=2, label="Pareto front")
    ax.scatter(*zip(*on_front), s=110, facecolors="none", edgecolors="tab:red", zorder=4)
    ax.set(xlabel="latency of one image, ms (median)", ylabel=f"{score_name}{' %' if points else ''} (mean over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return png_bytes(fig), front
