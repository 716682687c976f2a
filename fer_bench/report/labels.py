"""How the report names the scores it reads from records: by the split a reader knows them by."""

from fer_bench.errors import UserError

# What compare --metric may name: accuracy (the default), or a score beyond it (training/quality.py), per split
SCORES = ("accuracy", "balanced_accuracy", "macro_f1", "nll", "brier", "ece", "ece_scaled", "corruption_accuracy")
LOWER_IS_BETTER = ("nll", "brier", "ece", "ece_scaled")
ACCURACY_LABELS = {"val_accuracy": "validation", "public_test_accuracy": "PublicTest",
                   "private_test_accuracy": "PrivateTest"}


def metric_label(metric: str) -> str:
    """'val_accuracy' -> 'validation accuracy'; another metric by its name, underscores as spaces."""
    return f"{ACCURACY_LABELS[metric]} accuracy" if metric in ACCURACY_LABELS else metric.replace("_", " ")


def in_points(metric: str) -> bool:
    """Fractions shown as points (x100): accuracies, balanced accuracy, macro-F1 and calibration errors; not
    a log-likelihood, a Brier score or a speed."""
    return not metric.endswith(("nll", "brier", "images_per_s", "latency_ms", "latency_ms_p90", "saved_bytes"))


def metric_rows(score: str) -> tuple[tuple[str, str], ...]:
    """The record columns a --metric names, one per split, with the split's label."""
    if score not in SCORES:
        raise UserError(f"--metric {score!r}: allowed are {', '.join(SCORES)}")
    if score == "accuracy":
        return tuple(ACCURACY_LABELS.items())
    if score == "corruption_accuracy":  # FER-2013-C is made of PublicTest only
        return (("public_test_c_accuracy", "FER-2013-C"),)
    return tuple((f"{split}_{score}", label) for split, label in
                 zip(("val", "public_test", "private_test"), ACCURACY_LABELS.values()))


def score_label(label: str, score: str) -> str:
    """'validation accuracy', 'PublicTest balanced accuracy': a split's label and the score's name."""
    if score == "corruption_accuracy":
        return f"{label} mean accuracy"
    return f"{label} {score.replace('_', ' ')}"
