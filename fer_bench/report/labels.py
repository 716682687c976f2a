"""How the report names the scores it reads from records: by the split a reader knows them by."""

# What compare --metric may name: accuracy (the default), or a score beyond it (training/quality.py), per split
SCORES = ("accuracy", "balanced_accuracy", "macro_f1", "nll", "brier", "ece", "ece_scaled")
LOWER_IS_BETTER = ("nll", "brier", "ece", "ece_scaled")
ACCURACY_LABELS = {"val_accuracy": "validation", "public_test_accuracy": "PublicTest",
                   "private_test_accuracy": "PrivateTest"}


def metric_label(metric: str) -> str:
    """'val_accuracy' -> 'validation accuracy'; another metric by its name, underscores as spaces."""
    return f"{ACCURACY_LABELS[metric]} accuracy" if metric in ACCURACY_LABELS else metric.replace("_", " ")
