"""A trial's accuracy on FER-2013-C (data/corrupted.py): per corruption and severity, their mean, and the
drop from clean PublicTest. The corrupted copies are predicted one corruption at a time, so memory holds
5 x PublicTest images, not 90."""

import time

import numpy as np

from fer_bench.data.corrupted import CORRUPTIONS, SEED, SEVERITIES, VERSION
from fer_bench.training.inputs import predict


def corruption_scores(model, corrupted, rows: np.ndarray, labels: np.ndarray, clean_accuracy: float,
                      batch_size: int) -> dict:
    """`rows`: the PublicTest rows scored (all of PublicTest, or the subset a run evaluates on)."""
    started = time.perf_counter()
    corrupted.ensure()
    made_s = time.perf_counter() - started
    accuracy = {}
    for name in CORRUPTIONS:
        copies = corrupted.severities(name, rows)
        x = (copies.reshape(-1, *copies.shape[2:]).astype(np.float32) / 255.0)[..., None]
        predicted = predict(model, x, batch_size).argmax(axis=1).reshape(len(SEVERITIES), len(rows))
        accuracy[name] = [float((p == labels).mean()) for p in predicted]
    mean = float(np.mean([value for values in accuracy.values() for value in values]))
    return {
        "version": VERSION, "seed": SEED, "images": int(len(rows)), "severities": list(SEVERITIES),
        "accuracy": accuracy,
        "clean_accuracy": clean_accuracy,
        "mean_accuracy": mean,
        # mean corruption error relative to clean: how much of the clean accuracy the corruptions take away
        "relative_drop": (clean_accuracy - mean) / clean_accuracy if clean_accuracy else None,
        "made_s": round(made_s, 3),
        "eval_s": round(time.perf_counter() - started - made_s, 3),
    }
