"""The report's time-to-target tables on records made with known times: a variant whose 3 seeds all reach the
target, and one where a seed never does."""

import json

import pytest
from conftest import call_main, write
from made_results import TINY, made_records

from fer_bench.report.time_to_target import machine, target_summary

SPEC = """name: timed
dataset: {source: sample}
""" + TINY + """training: {stop_at_val_accuracy: 0.5696}
seeds: 3
sweep:
  grid:
    model.params.dropout: [0.0, 0.25]
"""
# per (variant, seed): seconds to the target and its epoch, or None where the seed never reached it
TIMES = {("dropout-0", 0): (300.0, 10), ("dropout-0", 1): (280.0, 9), ("dropout-0", 2): (330.0, 11),
         ("dropout-0.25", 0): (400.0, 13), ("dropout-0.25", 1): None, ("dropout-0.25", 2): (420.0, 14)}


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = tmp_path_factory.mktemp("timed")
    made = []
    for trial, record in made_records(root, SPEC):
        hit = TIMES[(trial.variant, trial.seed)]
        record["environment"]["device"] = {"kind": "cpu", "name": "AMD EPYC", "count": 2}
        record["precision"] = {"asked": "auto", "chosen": "mixed_bfloat16", "reason": "", "decided_by": "avx512_bf16"}
        record["metrics"]["val_accuracy"] = 0.58 if hit else 0.55
        record["time_to_target"] = ({"target": 0.5696, "reached": True, "epoch": hit[1],
                                     "since_fit_start_s": hit[0] - 15, "since_process_start_s": hit[0],
                                     "public_test_accuracy": 0.59, "private_test_accuracy": 0.58}
                                    if hit else {"target": 0.5696, "reached": False, "epochs": 16})
        write(root / "results" / "timed" / record["trial_id"] / "record.json", json.dumps(record))
        made.append(record)
    return root / "results", made


def test_the_summary_counts_seeds_and_takes_the_median_of_those_that_reached(records):
    _, made = records
    rows = {row["variant"]: row for row in target_summary(made)}
    every = rows["dropout-0"]
    assert (every["reached"], every["n"], every["seconds"], every["epoch"]) == (3, 3, 300.0, 10)
    assert (every["seconds_min"], every["seconds_max"]) == (280, 330)
    late = rows["dropout-0.25"]
    assert (late["reached"], late["seconds"], late["epoch"]) == (2, 410.0, 13.5)
    assert late["val_accuracy"] == pytest.approx((0.58 + 0.55 + 0.58) / 3)
    assert late["machine"] == "AMD EPYC (2 cores), tensorflow, mixed_bfloat16" == machine(made[0])


def test_the_report_names_the_machine_and_each_variants_time(records, tmp_path):
    results, _ = records
    result = call_main("report", results, "-o", tmp_path / "r.md")
    assert result.returncode == 0, result.stderr[-2000:]
    text = (tmp_path / "r.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| dropout-0.25 | 2/3 at 56.96 |"))
    assert "| 410 [400, 420] | 13.5 |" in row and "AMD EPYC (2 cores), tensorflow, mixed_bfloat16" in row
    assert "| dropout-0.25 | 1 | 56.96 | no, in 16 epochs |" in text  # the seed that did not reach it
