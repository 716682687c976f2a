"""Weights & Biases, offline, on real runs: every record as a run holding its numbers (read back from the
files W&B writes), a trial streamed as it trains, and a spec's search as sweeps W&B's own schema accepts."""

import json
import sys

import pytest
import yaml
from conftest import REPO, call_main, write
from wandb_files import read_offline_runs

from fer_bench.records import iter_records
from fer_bench.spec.load import load_spec
from fer_bench.trackers.wandb_runs import run_id

pytest.importorskip("wandb", reason="wandb is not installed (tox installs it)")

PROPOSAL_SPEC = """
name: swept
dataset: {source: sample}
model: {params: {conv_filters: [8], conv_kernels: [3], dense_units: []}}
training: {epochs: 2, batch_size: 32}
search:
  strategy: [grid, bayesian]
  max_trials: 4
  executions: 2
  bayesian: {initial_points: 2}
  space:
    training.optimizer.learning_rate: {type: float, min: 1.0e-4, max: 1.0e-2, sampling: log, step: 10}
    model.params.dropout: {type: choice, values: [0.0, 0.4]}
"""


@pytest.fixture(autouse=True)
def _wandb_home(tmp_path, monkeypatch):
    """W&B's own folders (settings, artifact staging, cache) in the test's folder, and no agent around."""
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wandb-home" / name.lower()))
    for name in ("WANDB_MODE", "WANDB_SWEEP_ID", "WANDB_RUN_ID", "WANDB_DIR", "WANDB_PROJECT"):
        monkeypatch.delenv(name, raising=False)


def assert_run_holds(run, record: dict) -> None:
    """The W&B run says what the record says: names, config, every epoch, the scores, the matrices."""
    assert (run.name, run.group, run.job_type) == (record["trial_id"], record["spec"], record["variant"])
    assert run.config["seed"] == record["seed"] and run.config["params"] == record["params"]
    assert run.config["training"] == record["config"]["training"]
    assert run.config["environment"]["backend"] == record["environment"]["backend"]
    assert run.config["data"]["fingerprint"] == record["data"]["fingerprint"]
    epochs = [row for row in run.history if "loss" in row]
    assert [row["_step"] for row in epochs] == [h["epoch"] for h in record["history"]]
    for row, entry in zip(epochs, record["history"]):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "time_s"):
            assert row[key] == pytest.approx(entry[key]), key
        norms = {k.removeprefix("grad_norm/"): v for k, v in row.items() if k.startswith("grad_norm/")}
        assert norms == pytest.approx(entry.get("grad_norms") or {})
    metrics = record["metrics"]
    for key in ("val_accuracy", "public_test_accuracy", "private_test_accuracy", "public_test_accuracy_dedup"):
        assert run.summary[f"final/{key}"] == pytest.approx(metrics[key]), key
    assert run.summary["val_accuracy"] == pytest.approx(metrics["val_accuracy"])
    assert run.summary["status"] == "complete" and "complete" in run.tags and run.exit_code == 0
    assert run.summary["timing/fit_s"] == pytest.approx(record["timing"]["fit_s"])
    for split, matrix in record["confusion_matrix"].items():
        (table,) = (run.folder / "files" / "media" / "table" / "confusion_matrix").glob(f"{split}_table_*.json")
        cells = json.loads(table.read_text())
        assert cells["columns"] == ["Actual", "Predicted", "nPredictions"] and len(cells["data"]) == 49
        names = [actual for actual, _, _ in cells["data"][::7]]
        rebuilt = [[0] * 7 for _ in range(7)]
        for actual, predicted, count in cells["data"]:
            rebuilt[names.index(actual)][names.index(predicted)] = count
        assert rebuilt == matrix, split


@pytest.mark.slow
def test_every_record_becomes_one_offline_run_and_a_second_export_adds_none(smoke_results, tmp_path):
    out, _ = smoke_results
    records = [record for _, record in iter_records(out)]
    result = call_main("wandb", out, "--dir", tmp_path)
    assert result.returncode == 0 and "wandb:" not in result.stderr, result.stderr[-2000:]
    assert f"{len(records)} runs exported (offline) to {tmp_path}/wandb, 0 already there" in result.stdout
    assert f"to upload them: wandb sync {tmp_path}/wandb/offline-run-*" in result.stdout
    runs = read_offline_runs(tmp_path / "wandb")
    assert set(runs) == {run_id(record) for record in records}
    for record in records:
        assert_run_holds(runs[run_id(record)], record)
    again = call_main("wandb", out, "--dir", tmp_path)
    assert f"0 runs exported (offline) to {tmp_path}/wandb, {len(records)} already there" in again.stdout
    assert "wandb sync" not in again.stdout and len(list((tmp_path / "wandb").glob("offline-run-*"))) == len(records)


@pytest.mark.slow
def test_a_proposal_from_outside_streams_to_wandb_as_it_trains_and_a_later_export_adds_nothing(tmp_path):
    """`run --params FILE --wandb`, as a W&B sweep agent starts it: the proposal's trials are trained,
    each streamed to its own offline run, and the export afterwards finds them all there."""
    spec = write(tmp_path / "swept.yaml", PROPOSAL_SPEC)
    params = write(tmp_path / "p.json", json.dumps({"training.optimizer.learning_rate": 0.01,
                                                    "model.params.dropout": 0.4}))
    result = call_main("run", spec, "--params", params, "--wandb", "--out", tmp_path / "out", "--quiet",
                       env={"WANDB_DIR": tmp_path})
    assert result.returncode == 0 and "wandb:" not in result.stderr, result.stderr[-2000:]  # W&B kept quiet
    records = [record for _, record in iter_records(tmp_path / "out")]
    assert sorted(r["seed"] for r in records) == [0, 1]  # the search's two executions
    for record in records:
        assert record["params"] == {"training.optimizer.learning_rate": 0.01, "model.params.dropout": 0.4}
        assert record["config"]["model"]["params"]["dropout"] == 0.4 and record["trial_id"].startswith("wandb-000_")
    runs = read_offline_runs(tmp_path / "wandb")
    assert set(runs) == {run_id(record) for record in records}
    for record in records:
        assert_run_holds(runs[run_id(record)], record)
    exported = call_main("wandb", tmp_path / "out", env={"WANDB_DIR": tmp_path})
    assert "0 runs exported (offline)" in exported.stdout and "2 already there" in exported.stdout, exported.stdout


@pytest.mark.slow
def test_a_wandb_failure_mid_run_costs_no_trial(tmp_path):
    """W&B refuses every run (a project name it does not allow): one warning, and every trial is trained
    and recorded as without --wandb."""
    spec = write(tmp_path / "swept.yaml", PROPOSAL_SPEC)
    params = write(tmp_path / "p.json", json.dumps({"training.optimizer.learning_rate": 0.001,
                                                    "model.params.dropout": 0.0}))
    result = call_main("run", spec, "--params", params, "--wandb", "--epochs", "1", "--out", tmp_path / "out",
                       "--quiet", env={"WANDB_DIR": tmp_path, "WANDB_PROJECT": "fer/bench"})
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: --wandb: W&B failed")]
    assert len(warnings) == 1 and "Invalid project name" in warnings[0], result.stderr[-2000:]
    assert [r["status"] for _, r in iter_records(tmp_path / "out")] == ["complete", "complete"]


@pytest.mark.parametrize("name", ["search", "search_cpu"])
def test_sweep_configurations_pass_wandbs_schema_and_hold_the_same_space(name):
    sweeps = pytest.importorskip("sweeps", reason="W&B's sweep engine is not installed (tox installs it)")
    path = REPO / "benchmark" / f"{name}.yaml"
    search = load_spec(path).spec.search
    result = call_main("wandb", "--sweep-config", path)
    assert result.returncode == 0, result.stderr
    configs = list(yaml.safe_load_all(result.stdout))
    assert [c["method"] for c in configs] == [{"grid": "grid", "random": "random", "bayesian": "bayes",
                                               "hyperband": "random"}[s] for s in search.strategies]
    assert [c.get("early_terminate") for c in configs] == [
        {"type": "hyperband", "min_iter": 1, "eta": search.hyperband.factor} if s == "hyperband" else None
        for s in search.strategies]
    for config in configs:
        assert sweeps.schema_violations_from_proposed_config(config) == []
        assert config["metric"] == {"name": "val_accuracy", "goal": "maximize"}
        assert list(config["parameters"]) == list(search.space)
        for key, param in search.space.items():
            assert config["parameters"][key]["values"] == (param.values if param.type == "choice"
                                                           else param.grid_values())
        assert config["command"][2:6] == ["run", str(path), "--params", "${args_json_file}"]
    (said,) = [line for line in result.stderr.splitlines() if line.startswith("#")]
    assert f"max_trials {search.max_trials}" in said and "bayesian.initial_points" in said
    assert "hyperband.max_epochs and iterations" in said
    assert "not checked" not in result.stderr


def test_wandbs_own_engine_proposes_what_run_params_trains(tmp_path):
    """A proposal of W&B's sweep engine (its bayes, its grid) is a valid --params file: fer-bench plans
    the proposal's trials with the values W&B chose, one per execution seed."""
    sweeps = pytest.importorskip("sweeps", reason="W&B's sweep engine is not installed (tox installs it)")
    from fer_bench.scheduling.plan import plan_specs
    from fer_bench.spec.trials import Overrides

    spec = write(tmp_path / "swept.yaml", PROPOSAL_SPEC)
    result = call_main("wandb", "--sweep-config", spec)
    for config in yaml.safe_load_all(result.stdout):
        proposal = sweeps.next_run(config, [], validate=True)
        values = {key: entry["value"] for key, entry in proposal.config.items()}
        (planned,) = plan_specs([str(spec)], None, Overrides(), proposal=("p.json", values))
        assert planned.loaded.spec.search is None and [t.trial.seed for t in planned.trials] == [0, 1]
        for trial in planned.trials:
            assert trial.trial.params == values
            assert trial.trial.config["training"]["optimizer"]["learning_rate"] == \
                values["training.optimizer.learning_rate"]


def test_continuous_ranges_map_to_wandbs_distributions():
    from fer_bench.spec.search import SearchSpec
    from fer_bench.trackers.wandb_sweep import parameter

    space = SearchSpec(strategy="random", space={
        "a": {"type": "float", "min": 1e-4, "max": 1e-1, "sampling": "log"},
        "b": {"type": "float", "min": 0.0, "max": 0.5},
        "c": {"type": "int", "min": 1, "max": 4},
        "d": {"type": "int", "min": 1, "max": 64, "sampling": "log"},
        "e": {"type": "int", "min": 8, "max": 32, "step": 8}}).space
    assert {k: parameter(p) for k, p in space.items()} == {
        "a": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
        "b": {"distribution": "uniform", "min": 0.0, "max": 0.5},
        "c": {"distribution": "int_uniform", "min": 1, "max": 4},
        "d": {"distribution": "q_log_uniform_values", "min": 1, "max": 64, "q": 1},
        "e": {"values": [8, 16, 24, 32]}}


def test_without_wandb_each_command_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if it were not installed: import wandb fails
    spec = write(tmp_path / "swept.yaml", PROPOSAL_SPEC)
    for args in (["wandb", tmp_path], ["run", spec, "--wandb", "--out", tmp_path / "out"]):
        result = call_main(*args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert "needs the wandb library: pip install 'fer-bench[wandb]'" in result.stderr
    assert not (tmp_path / "out").exists()
