"""The report's FER-2013-C and running-cost parts, on records made with known scores: two variants, the
faster one less accurate, so that both lie on the Pareto front; a third slower and worse, off it."""

import json

import pytest
from conftest import call_main, write
from made_results import TINY, made_records

from fer_bench.data.corrupted import CORRUPTIONS
from fer_bench.report.running_cost import pareto_front

SPEC = """name: robust
dataset: {source: sample}
""" + TINY + """seeds: 3
sweep:
  grid:
    model.params.dropout: [0.0, 0.25, 0.5]
"""
# per variant: (validation accuracy, mean corruption accuracy, one-image latency in ms, saved bytes)
SCORES = {"dropout-0": (0.50, 0.30, 2.0, 1_000_000), "dropout-0.25": (0.55, 0.40, 3.0, 1_000_000),
          "dropout-0.5": (0.45, 0.20, 4.0, 1_000_000)}


def corruptions(mean: float, clean: float) -> dict:
    # severity s loses 2 (s - 3) points against the mean, so that the mean is `mean` exactly
    accuracy = {name: [mean - 0.02 * (s - 3) for s in range(1, 6)] for name in CORRUPTIONS}
    return {"version": 1, "seed": 2013, "images": 100, "severities": [1, 2, 3, 4, 5], "accuracy": accuracy,
            "clean_accuracy": clean, "mean_accuracy": mean, "relative_drop": (clean - mean) / clean}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("robust")
    for trial, record in made_records(root, SPEC):
        accuracy, corrupted, latency, size = SCORES[trial.variant]
        noise = 0.002 * (trial.seed - 1)
        for split in ("val", "public_test", "private_test"):
            record["metrics"][f"{split}_accuracy"] = accuracy + noise
        record["corruptions"] = corruptions(corrupted + noise, accuracy + noise)
        record["metrics"].update(public_test_c_accuracy=corrupted + noise,
                                 public_test_c_drop=record["corruptions"]["relative_drop"])
        record["running_cost"] = {"saved_bytes": size, "device": "cpu", "threads": 2,
                                  "latency_ms": {"median": latency + noise, "p90": latency * 1.5, "calls": 100,
                                                 "warmup_calls": 10},
                                  "batch": 256, "images_per_s": 1000 / latency}
        write(root / "results" / "robust" / record["trial_id"] / "record.json", json.dumps(record))
    return root / "results"


def test_the_front_is_what_nothing_beats_on_both():
    points = [("a", 1.0, 0.40), ("b", 2.0, 0.50), ("c", 3.0, 0.45), ("d", 2.0, 0.50), ("e", 0.5, 0.10)]
    assert pareto_front(points) == ["e", "a", "b", "d"]  # c: b is faster and better; equal b and d both stay
    # an error, lower better: the fastest with the least error wins alone
    assert pareto_front([("a", 1.0, 0.10), ("b", 2.0, 0.20)], lower_is_better=True) == ["a"]


def test_the_report_shows_fer2013_c_and_the_running_cost(results, tmp_path):
    result = call_main("report", results, "-o", tmp_path / "r.md")
    assert result.returncode == 0, result.stderr[-2000:]
    text = (tmp_path / "r.md").read_text()
    assert "FER-2013-C accuracy %" in text and "drop from clean %" in text
    # dropout 0.25: 40.0% on FER-2013-C against 55.0% clean, a drop of 27.3%
    rows = [line for line in text.splitlines() if line.startswith("| dropout-0.25 | 3 |")]
    assert any("| 40.0 [" in row and "| 27.3 [" in row for row in rows), rows
    assert ("FER-2013-C: PublicTest accuracy by corruption and severity (dropout-0.25, mean over seeds): "
            "40.0% on average against 55.0% clean") in text
    assert "On the Pareto front (no variant both faster and better): dropout-0, dropout-0.25." in text
    cost = next(line for line in text.splitlines() if line.startswith("| dropout-0.5 | 3 | 1.00 |"))
    assert "| 4.00 | 6.00 | 250 | 256 | cpu |" in cost  # the batch the throughput was measured at
    assert "1.0 MB saved" in text  # the model line


def test_corruption_accuracy_can_judge(results, tmp_path):
    result = call_main("report", results, "-o", tmp_path / "r.md", "--metric", "corruption_accuracy")
    assert result.returncode == 0, result.stderr[-2000:]
    text = (tmp_path / "r.md").read_text()
    assert "FER-2013-C mean accuracy" in text
