"""Records from before balanced accuracy and macro-F1 get them from the confusion matrices they kept: the same
numbers as scoring the predictions (training/quality.py), on made predictions and on committed records."""

import numpy as np
import pytest
from conftest import REPO, call_main
from sklearn.metrics import confusion_matrix

from fer_bench.records import iter_records
from fer_bench.report.frames import class_balance_from_confusion, load_records
from fer_bench.training.quality import quality

REFERENCE = REPO / "results" / "reference"


@pytest.mark.parametrize("case", ["never_disgust", "constant", "one_class_missing_from_the_split"])
def test_the_matrix_gives_what_the_predictions_give(case):
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 7, 600)
    probabilities = rng.dirichlet(np.ones(7), 600)
    if case == "never_disgust":
        probabilities[:, 1] = 0.0
    elif case == "constant":
        probabilities = np.tile(np.eye(7)[3] * 0.9 + 0.1 / 7, (600, 1))
    else:
        labels[labels == 5] = 4
    scored = quality(probabilities / probabilities.sum(axis=1, keepdims=True), labels, None)
    matrix = confusion_matrix(labels, probabilities.argmax(axis=1), labels=list(range(7))).tolist()
    derived = class_balance_from_confusion(matrix)
    assert derived == pytest.approx({k: scored[k] for k in ("balanced_accuracy", "macro_f1")}, abs=1e-12)
    if case == "constant":
        assert derived["balanced_accuracy"] == pytest.approx(1 / 7)


def test_records_that_scored_them_agree_with_their_matrices():
    """cpu-calibration's records scored balanced accuracy from the probabilities; their matrices say the same."""
    for _, record in iter_records(REFERENCE / "cpu-calibration"):
        for split in ("public_test", "private_test"):
            derived = class_balance_from_confusion(record["confusion_matrix"][split])
            assert derived["balanced_accuracy"] == pytest.approx(record["metrics"][f"{split}_balanced_accuracy"])
            assert derived["macro_f1"] == pytest.approx(record["metrics"][f"{split}_macro_f1"])


def test_older_records_get_them_on_the_test_splits_only():
    frame = load_records(REFERENCE / "h100-jax")
    complete = frame[frame["status"] == "complete"]
    assert complete["public_test_balanced_accuracy"].between(0.14, 1).all()
    assert (complete["private_test_macro_f1"] > 0).all() and complete["best_public_test_macro_f1"].notna().all()
    # below accuracy: FER-2013's large class (Happy) is its easiest, its smallest (Disgust) among the hardest
    assert (complete["public_test_balanced_accuracy"] < complete["public_test_accuracy"]).all()
    assert complete["val_balanced_accuracy"].isna().all() and complete["public_test_ece"].isna().all()


def test_their_report_shows_class_balance_from_the_matrices_and_says_so(tmp_path):
    result = call_main("report", REFERENCE / "h100-jax", "-o", tmp_path / "report.md")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "report.md").read_text()
    assert "come from their test splits' confusion matrices" in text and "validation ECE %" not in text
    beyond = text[text.index("### Beyond accuracy"):]
    base = next(line for line in beyond.splitlines() if line.startswith("| base | 3 |"))
    assert base.count("[") == 4  # each of the four scores with its interval over the 3 seeds
