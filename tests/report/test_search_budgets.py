"""A search's report read with a reviewer's eyes, on the committed search reference (real records): the
strategies' budgets named when they differ, importance at the full budget, a repeated training counted once,
and tuning curves whose bands are opda's own."""

import copy
import json
import shutil

import numpy as np
import pytest
from conftest import REPO, call_main, write

from fer_bench.records import iter_records
from fer_bench.report import tuning
from fer_bench.report.importance import importance_section
from fer_bench.report.search import budget_note

SEEDS = REPO / "results" / "reference" / "cpu-search-seeds"  # grid, random, Bayesian 2 epochs; Hyperband 3


class Store:
    def add(self, name, data):
        return name


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return [record for _, record in iter_records(SEEDS)]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.md"
    result = call_main("report", SEEDS, "-o", out)
    assert result.returncode == 0, result.stderr[-2000:]
    return out.read_text()


def test_budgets_that_differ_are_the_search_sections_first_sentence(records, report):
    note = ("The strategies' budgets differ: grid, random and bayesian train each configuration at most 2 epochs; "
            "hyperband trains each configuration at most 3 epochs.")
    assert report.split("### Search strategies\n\n", 1)[1].startswith(f"**{note}")
    matched = copy.deepcopy(records)
    for record in matched:
        record["config"]["training"]["epochs"] = 3 if record["search"]["strategy"] != "hyperband" else \
            record["config"]["training"]["epochs"]
    assert budget_note(matched) == ""


def test_list_prints_each_strategys_budget_and_flags_a_mismatch(tmp_path):
    text = (REPO / "benchmark" / "search_cpu.yaml").read_text()
    sample = ["--data", REPO / "fer_bench" / "sample" / "fer2013-sample.csv.gz", "--out", tmp_path]
    matched = call_main("list", REPO / "benchmark" / "search_cpu.yaml", *sample)
    assert "epochs per configuration (most) / in all: grid 3 / 24, random 3 / 12, bayesian 3 / 12, hyperband 3 / 11\n" \
        in matched.stdout, matched.stdout
    spec = write(tmp_path / "s.yaml", text.replace("hyperband: {factor: 3}", "hyperband: {max_epochs: 9, factor: 3}"))
    mismatched = call_main("list", spec, *sample)
    assert mismatched.returncode == 0, mismatched.stderr
    assert "hyperband 9 / " in mismatched.stdout and "the strategies' budgets per configuration differ" in \
        mismatched.stdout
    only = call_main("list", spec, *sample, "--only", "random")  # the strategies --only leaves
    assert "epochs per configuration (most) / in all: random 3 / 12\n" in only.stdout, only.stdout


def test_importance_takes_the_full_budget_trials_each_training_once(records, report):
    full = [r for r in records if r["config"]["training"]["epochs"] == 3]
    distinct = {json.dumps([r["params"], r["seed"], bool(r["search"]["rung"]["initial_epoch"])], sort_keys=True)
                for r in full}
    assert (len(records), len(full), len(distinct)) == (44, 6, 5)
    section = importance_section("search_cpu", records, Store())
    assert section["n"] == 5
    assert section["entered"] == ("5 distinct completed trials at the full budget of 3 epochs (38 at fewer epochs "
                                  "left out, 1 repeat of a training counted once)")
    assert f"over {section['entered']}, by fANOVA" in report


def test_a_configuration_trained_by_three_strategies_under_one_seed_is_one_row_of_one_seed(records, report):
    point = {"training.optimizer.learning_rate": 0.0001, "model.params.dropout": 0.0}
    copies = [r for r in records if r["params"] == point and r["config"]["training"]["epochs"] == 2]
    assert len(copies) >= 3 and {r["seed"] for r in copies} == {0}
    assert {r["search"]["strategy"] for r in copies} == {"grid", "random", "bayesian"}
    variants = report[report.index("| variant | n | trained by |"):report.index("### Beyond accuracy")]
    rows = [line for line in variants.splitlines() if line.startswith("| learning_rate-0.0001_dropout-0 (2 epochs) |")]
    assert len(rows) == 1 and rows[0].startswith("| learning_rate-0.0001_dropout-0 (2 epochs) | 1 | grid, random, "
                                                 "bayesian | 18.05 ± - [-, -] |"), rows


@pytest.mark.parametrize("direction", ["max", "min"])
def test_tuning_curve_bands_are_opdas_on_the_same_scores(direction):
    from opda.nonparametric import EmpiricalDistribution

    scores = [0.21, 0.33, 0.25, 0.41, 0.29, 0.37, 0.18]
    ks = np.arange(1, 15)
    ours = tuning.curve(scores, ks, "val_accuracy", direction)
    lower, point, upper = EmpiricalDistribution.confidence_bands(
        np.array(scores), tuning.CONFIDENCE, a=0.0, b=1.0, method=tuning.METHOD, n_jobs=1)
    minimize = direction == "min"
    assert np.array_equal(ours["expected"], point.average_tuning_curve(ks, minimize=minimize))
    assert np.array_equal(ours["low"], upper.average_tuning_curve(ks, minimize=minimize))
    assert np.array_equal(ours["high"], lower.average_tuning_curve(ks, minimize=minimize))
    assert (ours["low"] <= ours["expected"]).all() and (ours["expected"] <= ours["high"]).all()
    best_first = np.diff(ours["expected"])
    assert (best_first >= 0).all() if direction == "max" else (best_first <= 0).all()


def test_tuning_curves_read_random_search_and_the_grid_once_per_configuration(records, report, tmp_path):
    scores, epochs = tuning.distinct_scores(records, "random")
    points = {json.dumps(r["params"], sort_keys=True) for r in records if r["search"]["strategy"] == "random"}
    assert epochs == 2 and len(scores) == len(points) == 7
    assert tuning.distinct_scores(records, "hyperband") == tuning.distinct_scores(
        [r for r in records if r["search"]["strategy"] == "hyperband"], "hyperband")
    assert "#### Tuning curves" in report and "| random | 7 | 2 |" in report and "| grid (random order) | 8 | 2 |" \
        in report
    shutil.copytree(SEEDS, tmp_path / "grid-only", ignore=lambda folder, names: [
        n for n in names if n.startswith(("random-", "bayesian-", "hyperband-"))])
    only = call_main("report", tmp_path / "grid-only", "-o", tmp_path / "grid.md")
    assert only.returncode == 0, only.stderr[-2000:]
    text = (tmp_path / "grid.md").read_text()
    assert "| grid (random order) | 8 | 2 |" in text and "| random |" not in text
