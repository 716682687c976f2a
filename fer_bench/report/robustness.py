"""Accuracy on FER-2013-C by corruption and severity (records' `corruptions`, training/robustness.py): the
best variant's table as a heat map, and every variant's mean over corruptions against severity."""

import numpy as np

from fer_bench.data.corrupted import GROUPS
from fer_bench.report.figures import plt, png_bytes

SHOWN_VARIANTS = 8


def by_severity(records: list[dict]) -> tuple[list[str], np.ndarray, float] | None:
    """(corruptions, accuracy (corruptions x severities), clean accuracy), means over the records (seeds) that
    scored FER-2013-C; None when none did."""
    scored = [r["corruptions"] for r in records if r.get("corruptions")]
    if not scored:
        return None
    names = [name for group in GROUPS.values() for name in group if all(name in s["accuracy"] for s in scored)]
    table = np.mean([[s["accuracy"][name] for name in names] for s in scored], axis=0)
    return names, table, float(np.mean([s["clean_accuracy"] for s in scored]))


def figure(best: str, tables: dict[str, tuple[list[str], np.ndarray, float]]) -> bytes:
    """Left: `best`'s accuracy per corruption (rows, grouped as docs/robustness.md groups them) and severity;
    right: each variant's accuracy at severity 0 (clean) to 5, the mean over corruptions."""
    names, table, clean = tables[best]
    fig, (heat, lines) = plt.subplots(1, 2, figsize=(12, 0.32 * len(names) + 2.2),
                                      gridspec_kw={"width_ratios": [1.1, 1]})
    image = heat.imshow(table * 100, cmap="viridis", vmin=0, vmax=max(clean * 100, float(table.max()) * 100),
                        aspect="auto")
    for (row, column), value in np.ndenumerate(table):
        heat.text(column, row, f"{value * 100:.0f}", ha="center", va="center", fontsize=7,
                  color="white" if value < clean * 0.6 else "black")
    heat.set_xticks(range(table.shape[1]), [str(s) for s in range(1, table.shape[1] + 1)])
    heat.set_yticks(range(len(names)), [name.replace("_", " ") for name in names], fontsize=8)
    heat.set(xlabel="severity", title=f"{best}: PublicTest accuracy % (clean {clean * 100:.1f})")
    fig.colorbar(image, ax=heat, fraction=0.04)
    severities = np.arange(table.shape[1] + 1)
    for variant, (_, values, clean_accuracy) in list(tables.items())[:SHOWN_VARIANTS]:
        curve = np.concatenate([[clean_accuracy], values.mean(axis=0)]) * 100
        lines.plot(severities, curve, marker="o", markersize=4, label=variant, lw=2.2 if variant == best else 1.2)
    lines.set_xticks(severities, ["clean", *map(str, severities[1:])])
    lines.set(xlabel="severity", ylabel="accuracy % (mean over corruptions)",
              title="Every variant: accuracy as the corruptions grow")
    lines.grid(alpha=0.3)
    lines.legend(fontsize=8)
    return png_bytes(fig)
