"""Which parameter mattered: fANOVA through Optuna over records of known structure, where one parameter
sets the score and another is noise, and the report section it makes."""

import copy
import json
import re

import numpy as np
import pytest
from conftest import call_main, write
from made_results import TEMPLATES

from fer_bench.report.importance import importance_section
from fer_bench.spec.load import load_spec
from fer_bench.spec.trials import Overrides, expand

GRID = """name: grid2
dataset: {source: sample}
model: {params: {conv_filters: [8], conv_kernels: [3], dense_units: []}}
seeds: 1
sweep:
  grid:
    training.optimizer.learning_rate: [1.0e-4, 1.0e-3, 1.0e-2, 1.0e-1]
    model.params.dropout: [0.0, 0.1, 0.2, 0.3, 0.4]
"""
KEYS = ("training.optimizer.learning_rate", "model.params.dropout")


class Store:
    """The report's figure store, as far as a section uses it: every figure kept by name."""

    def __init__(self):
        self.figures = {}

    def add(self, name, data):
        self.figures[name] = data
        return name


def made_records(tmp_path, matters: str) -> list[dict]:
    """20 records of a 4 x 5 grid: validation accuracy a step function of `matters`, plus noise of a
    tenth of its range that follows neither parameter."""
    loaded = load_spec(write(tmp_path / "grid2.yaml", GRID))
    template = json.loads(next(TEMPLATES.glob("*/record.json")).read_text())
    rng = np.random.default_rng(7)
    records = []
    for trial in expand(loaded, Overrides()):
        values = sorted({t.params[matters] for t in expand(loaded, Overrides())})
        record = copy.deepcopy(template)
        record.update(spec="grid2", variant=trial.variant, params=trial.params, seed=trial.seed, config=trial.config)
        record["trial_id"] = trial.trial_id(record["data"]["fingerprint"])
        record["data"]["path"] = str(tmp_path / "no-such-data.csv.gz")  # figures drawn from the data are left out
        record["metrics"]["val_accuracy"] = 0.3 + 0.05 * values.index(trial.params[matters]) + rng.normal(0, 0.005)
        records.append(record)
    return records


@pytest.mark.parametrize(("matters", "noise"), [(KEYS[0], KEYS[1]), (KEYS[1], KEYS[0])])
def test_fanova_ranks_the_parameter_that_sets_the_score_first(tmp_path, matters, noise):
    section = importance_section("grid2", made_records(tmp_path, matters), Store())
    assert section["n"] == 20 and section["objective"] == "val_accuracy" and "fANOVA" in section["method"]
    ranked = {row["parameter"]: row["importance"] for row in section["rows"]}
    assert list(ranked) == [matters, noise], ranked
    assert ranked[matters] > 0.9 and ranked[noise] < 0.1 and sum(ranked.values()) == pytest.approx(1.0)


def test_one_varied_parameter_or_too_few_trials_make_no_section(tmp_path):
    records = made_records(tmp_path, KEYS[0])
    one_dropout = [r for r in records if r["params"][KEYS[1]] == 0.0]
    assert importance_section("grid2", one_dropout, Store()) is None  # only the learning rate varies
    assert importance_section("grid2", records[:4], Store()) is None  # 4 trials: under MIN_TRIALS


@pytest.mark.slow
def test_the_report_ranks_the_parameters_with_a_slice_plot_and_parallel_coordinates(tmp_path):
    root = tmp_path / "results"
    for record in made_records(tmp_path, KEYS[1]):
        write(root / "grid2" / record["trial_id"] / "record.json", json.dumps(record))
    result = call_main("report", root, "-o", tmp_path / "report.md")
    assert result.returncode == 0, result.stderr[-2000:]
    text = (tmp_path / "report.md").read_text()
    section = text.split("### Which parameter mattered")[1]
    rows = re.findall(r"^\| (\S+) \| (0\.\d{3}|1\.000) \|$", section, flags=re.MULTILINE)
    assert [name for name, _ in rows] == [KEYS[1], KEYS[0]] and float(rows[0][1]) > 0.9, rows
    for name in ("importance", "parallel", "slices"):
        (link,) = re.findall(rf"\]\((report_files/\d+-grid2-{name}\.png)\)", text)
        assert (tmp_path / link).stat().st_size > 1000
