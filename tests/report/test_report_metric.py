"""`report --metric`: the verdicts and each spec's best variant go by a chosen score, on records whose
scores are made so that accuracy and calibration disagree."""

import json

import numpy as np
import pytest
from conftest import call_main, write
from made_results import TINY, made_records

from fer_bench.training.quality import reliability_bins

SPEC = """name: calib
dataset: {source: sample}
""" + TINY + """seeds: 4
sweep:
  grid:
    training.label_smoothing: [0.0, 0.1]
"""
# per variant: (validation accuracy, validation ECE, validation NLL); the seeds add +-SPREAD
SCORES = {"label_smoothing-0": (0.50, 0.12, 1.30), "label_smoothing-0.1": (0.48, 0.04, 1.25)}
SPREAD = (-0.003, 0.001, -0.001, 0.003)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("metric")
    for trial, record in made_records(root, SPEC):
        accuracy, ece, nll = SCORES[trial.variant]
        noise = SPREAD[trial.seed]
        for split in ("val", "public_test", "private_test"):
            record["metrics"][f"{split}_accuracy"] = accuracy + noise
            record["metrics"][f"{split}_ece"] = ece + noise
            record["metrics"][f"{split}_nll"] = nll + noise
        rng = np.random.default_rng(trial.seed)
        probabilities = rng.dirichlet(np.ones(7) * (0.3 if trial.variant == "label_smoothing-0" else 1.0), 400)
        labels = rng.integers(0, 7, 400)
        record["reliability"] = {split: reliability_bins(probabilities, labels) for split in ("public_test",
                                                                                              "private_test")}
        write(root / "results" / "calib" / record["trial_id"] / "record.json", json.dumps(record))
    return root / "results"


def summary_row(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("| [calib]"))


def test_accuracy_stays_the_default_judge(results, tmp_path):
    result = call_main("report", results, "-o", tmp_path / "r.md")
    assert result.returncode == 0, result.stderr[-2000:]
    text = (tmp_path / "r.md").read_text()
    assert "| spec | best on validation accuracy |" in text
    assert summary_row(text).startswith("| [calib](#calib) | label_smoothing-0 | 4 |")
    assert "label_smoothing-0 beats label_smoothing-0.1 by 2.00 points of validation accuracy, beyond noise" in text


def test_the_reliability_diagram_shows_the_best_and_the_runner_up(results, tmp_path):
    result = call_main("report", results, "-o", tmp_path / "r.md", "--metric", "ece")
    assert result.returncode == 0, result.stderr[-2000:]
    text = (tmp_path / "r.md").read_text()
    caption = "Reliability on PublicTest (label_smoothing-0.1 and label_smoothing-0; every seed's predictions pooled)"
    assert caption in text
    (figure,) = [line for line in text.splitlines() if line.startswith("![Reliability")]
    assert (tmp_path / figure.split("](")[1].rstrip(")")).stat().st_size > 5000
    bare = tmp_path / "bare"
    for path in results.rglob("record.json"):
        record = json.loads(path.read_text())
        del record["reliability"]
        write(bare / path.relative_to(results), json.dumps(record))
    assert call_main("report", bare, "-o", tmp_path / "bare.md").returncode == 0
    assert "Reliability on" not in (tmp_path / "bare.md").read_text()


def test_a_calibration_error_is_judged_lower_is_better(results, tmp_path):
    result = call_main("report", results, "-o", tmp_path / "r.md", "--metric", "ece")
    assert result.returncode == 0, result.stderr[-2000:]
    text = (tmp_path / "r.md").read_text()
    assert "| spec | best on validation ece |" in text
    assert summary_row(text).startswith("| [calib](#calib) | label_smoothing-0.1 | 4 |")
    assert "label_smoothing-0.1 beats label_smoothing-0 by 8.00 points of validation ece, beyond noise" in text
    assert "label_smoothing-0.1 beats label_smoothing-0 by 8.00 points of PublicTest ece" in text


def test_a_loss_is_judged_in_its_own_units(results, tmp_path):
    result = call_main("report", results, "-o", tmp_path / "r.html", "--metric", "nll")
    assert result.returncode == 0, result.stderr[-2000:]
    text = (tmp_path / "r.html").read_text()
    assert "label_smoothing-0.1 beats label_smoothing-0 by 0.0500 of validation nll, beyond noise" in text
    assert "points of validation nll" not in text


def test_an_unknown_metric_is_one_line(results, tmp_path):
    result = call_main("report", results, "-o", tmp_path / "r.md", "--metric", "f1")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "--metric" in result.stderr and "balanced_accuracy" in result.stderr
    assert not (tmp_path / "r.md").exists()
