"""Honest scores: accuracy on the evaluation images that have no copy in the training data.

Validation images count as leaked when they copy an image of the train split; test images when
they copy any Training image (the audit's threshold decides what a copy is).
"""

import numpy as np

from fer_bench.data.audit import copies_among
from fer_bench.data.formats import FERData
from fer_bench.data.splits import Split


def dedup_masks(audit: dict, data: FERData, splits: dict[str, Split]) -> dict[str, np.ndarray]:
    """Per evaluation split, True for the images without a copy in the training data."""
    training = data.indices("Training")
    masks = {"validation": ~copies_among(audit, splits["validation"].indices, splits["train"].indices)}
    for name in ("public_test", "private_test"):
        masks[name] = ~copies_among(audit, splits[name].indices, training)
    return masks


def honest_scores(predict, masks: dict, tests: dict, val_accuracy: float, val_arrays) -> dict:
    """Deduplicated accuracies. Tests reuse their predictions; validation predicts (`predict`: images ->
    probabilities) only its copies and removes them from the accuracy Keras measured on the whole split."""
    scores = {}
    for name, result in tests.items():
        keep = masks[name]
        predicted = result["probabilities"].argmax(axis=1)
        labels = result["labels"]
        scores[f"{name}_accuracy_dedup"] = float((predicted[keep] == labels[keep]).mean()) if keep.any() else None
    x_val, y_val = val_arrays
    leaked = ~masks["validation"]
    n, n_leaked = len(y_val), int(leaked.sum())
    correct_leaked = 0
    if n_leaked:
        predicted = predict(x_val[leaked]).argmax(axis=1)
        correct_leaked = int((predicted == y_val[leaked]).sum())
    correct = round(val_accuracy * n)
    scores["val_accuracy_dedup"] = (correct - correct_leaked) / (n - n_leaked) if n > n_leaked else None
    return scores
