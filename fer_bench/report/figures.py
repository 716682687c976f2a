"""matplotlib figures (non-interactive backend), each returned as PNG bytes."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from fer_bench.data.formats import EMOTIONS  # noqa: E402
from fer_bench.report.labels import ACCURACY_LABELS  # noqa: E402
from fer_bench.report.order import variant_groups  # noqa: E402

SPLITS = tuple(ACCURACY_LABELS.items())


def png_bytes(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def accuracy_bars(summary: pd.DataFrame) -> bytes:
    """Mean accuracy per variant (in the summary's order) and split; error bars: the 95% intervals as the
    tables show them, clipped to 0-1."""
    variants = list(summary.index)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(variants) + 2), 3.8))
    width = 0.8 / len(SPLITS)
    for i, (metric, label) in enumerate(SPLITS):
        means, low, high = (summary[f"{metric}_{k}"].to_numpy(dtype=float) for k in ("mean", "ci_low", "ci_high"))
        x = np.arange(len(variants)) + (i - 1) * width
        ax.bar(x, means, width, yerr=np.nan_to_num([means - low, high - means]), capsize=3, label=label)
    ax.set_xticks(np.arange(len(variants)), variants, rotation=20, ha="right")
    ax.set_ylabel("accuracy (mean, 95% CI clipped to 0-1)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return png_bytes(fig)


def learning_curves(history: pd.DataFrame) -> bytes:
    """Train (dashed) and validation (solid) accuracy and loss per epoch: mean over seeds, min-max band."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (variant, rows) in enumerate(variant_groups(history)):
        colour = colours[index % len(colours)]
        for ax, (train_key, val_key) in zip(axes, (("accuracy", "val_accuracy"), ("loss", "val_loss"))):
            for key, style in ((train_key, "--"), (val_key, "-")):
                stats = rows.groupby("epoch")[key].agg(["mean", "min", "max"])
                ax.plot(stats.index, stats["mean"], style, color=colour, marker="o", markersize=3,
                        label=variant if key == val_key and ax is axes[0] else None)
                ax.fill_between(stats.index, stats["min"], stats["max"], color=colour, alpha=0.12)
    for ax, name in zip(axes, ("accuracy", "loss")):
        epoch_axis(ax, history["epoch"])
        ax.set_ylabel(f"{name} (dashed: train, solid: validation)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    columns = min(4, len(labels))
    fig.legend(_read_across(handles, columns), _read_across(labels, columns), loc="lower center", ncol=columns,
               fontsize=7, bbox_to_anchor=(0.5, -0.12))
    return png_bytes(fig)


def epoch_axis(ax, epochs: pd.Series) -> None:
    """Whole epochs on the axis; a run of one epoch gets its one tick in the middle, not matplotlib's
    0.945-1.050 around a lone point."""
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    first, last = int(epochs.min()), int(epochs.max())
    if first == last:
        ax.set_xlim(first - 0.5, last + 0.5)
        ax.set_xticks([first])


def _read_across(entries: list, columns: int) -> list:
    """Entries reordered so that a legend, which fills column by column, reads row by row in the given order."""
    rows = -(-len(entries) // columns)
    return [entries[r * columns + c] for c in range(columns) for r in range(rows) if r * columns + c < len(entries)]


def lr_schedule(history: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for variant, rows in variant_groups(history):
        mean = rows.groupby("epoch")["lr"].mean()
        ax.step(mean.index, mean.to_numpy(), where="post", marker="o", markersize=3, label=variant)
    ax.set_yscale("log")
    epoch_axis(ax, history["epoch"])
    ax.set_ylabel("learning rate")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return png_bytes(fig)


def gradient_norms(history: pd.DataFrame, variant: str) -> bytes:
    rows = history[history["variant"] == variant]
    layers = [c for c in rows.columns if c.startswith("grad/") and rows[c].notna().any()]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for column in layers:
        mean = rows.groupby("epoch")[column].mean()
        ax.plot(mean.index, mean.to_numpy(), marker=".", label=column.removeprefix("grad/"))
    ax.set_yscale("log")
    epoch_axis(ax, rows["epoch"])
    ax.set_ylabel("gradient L2 norm (probe batch)")
    ax.set_title(variant, fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return png_bytes(fig)


def confusion(matrix: np.ndarray, title: str) -> bytes:
    """Row-normalised confusion matrix with the counts written in each cell."""
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(EMOTIONS)):
        for j in range(len(EMOTIONS)):
            ax.text(j, i, f"{normalised[i, j]:.2f}\n{int(matrix[i, j])}", ha="center", va="center", fontsize=6.5,
                    color="white" if normalised[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    return png_bytes(fig)


def pairs_grid(data, pairs: list[tuple[int, int]]) -> bytes:
    """Pairs of images side by side, each titled with its split and emotion."""
    from fer_bench.data.formats import USAGES

    fig, axes = plt.subplots(len(pairs), 2, figsize=(3.2, 2.0 * len(pairs)), squeeze=False)
    fig.subplots_adjust(hspace=0.45)
    for row, (i, j) in zip(axes, pairs):
        for ax, k in zip(row, (i, j)):
            ax.imshow(data.pixels[k], cmap="gray", vmin=0, vmax=255)
            ax.set_title(f"{USAGES[data.usage[k]]} #{k}\n{EMOTIONS[data.labels[k]]}", fontsize=7)
            ax.axis("off")
    return png_bytes(fig)


def sample_grid(images: np.ndarray, true: list[int], predicted: list[int]) -> bytes:
    """Images eight to a row, each under its true and predicted emotion (green when they agree). One
    mosaic on one axes: an axes per image took a second and a half per report section."""
    columns, side, gap, label = 8, images.shape[1], 6, 22
    rows = int(np.ceil(len(images) / columns))
    cell_w, cell_h = side + gap, side + label
    canvas = np.full((rows * cell_h, columns * cell_w), 255, dtype=np.uint8)
    fig, ax = plt.subplots(figsize=(columns * 1.25, rows * 1.5))
    for k, (image, t, p) in enumerate(zip(images, true, predicted)):
        top, left = (k // columns) * cell_h + label, (k % columns) * cell_w + gap // 2
        canvas[top:top + side, left:left + side] = image
        ax.text(left + side / 2, top - 2, f"{EMOTIONS[t]}\n-> {EMOTIONS[p]}", ha="center", va="bottom",
                fontsize=7, color="green" if t == p else "red")
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.axis("off")
    return png_bytes(fig)
