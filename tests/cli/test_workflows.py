"""Everyday workflows: plug-in builders, evaluate, compare, --only, clean, time limits, memory,
TensorBoard and MLflow, each through the command line on real (sample) data: main() in this process,
but for the plug-in, which is found by a fresh interpreter on its PYTHONPATH."""

import json
import os
import subprocess
import sys

import pytest
from conftest import SAMPLE, call_main, run_cli, write

from fer_bench.records import iter_records

TINY = """
name: {name}
dataset: {{source: sample}}
model: {{params: {{conv_filters: [8, 16], conv_kernels: [3, 3], dense_units: [16], dropout: {dropout}}}}}
training: {{epochs: 2, batch_size: 32, gradient_stats: false}}
seeds: {seeds}
"""

PLUGIN = '''
from pydantic import BaseModel

from fer_bench.models import Builder


class Params(BaseModel):
    width: int = 4
    classes: int = 7


def build(p):
    import keras

    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(p.width, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(p.classes, activation="softmax")(x), name="tiny_net")


BUILDER = Builder(name="tiny_net", build=build, params_model=Params, description="a test plug-in")
'''


def records(out) -> list[dict]:
    return [r for _, r in iter_records(out)]


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    """A real package with a `fer_bench.models` entry point, pip-installed into a folder of its own."""
    root = tmp_path_factory.mktemp("plugin")
    write(root / "pkg" / "tiny_plugin.py", PLUGIN)
    write(root / "pkg" / "pyproject.toml", """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
[project]
name = "fer-bench-tiny-plugin"
version = "0.1"
[project.entry-points."fer_bench.models"]
tiny_net = "tiny_plugin:BUILDER"
broken_net = "tiny_plugin:NOT_THERE"
[tool.setuptools]
py-modules = ["tiny_plugin"]
""")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(root / "site"),
                    str(root / "pkg")], check=True, capture_output=True, timeout=300)
    return root / "site"


@pytest.mark.slow
def test_a_plugin_builder_trains_by_name_from_a_spec(plugin_site, tmp_path):
    env = {"PYTHONPATH": os.pathsep.join([str(plugin_site), os.environ.get("PYTHONPATH", "")])}
    spec = write(tmp_path / "p.yaml", """
name: plug
dataset: {source: sample}
model: {builder: tiny_net, params: {width: 6}}
training: {epochs: 1, gradient_stats: false}
seeds: 1
sweep: {grid: {model.params.classes: [7, 5]}}
""")
    result = run_cli("run", spec, "--out", tmp_path / "out", env=env)
    assert result.returncode == 3, result.stderr[-3000:]  # the 5-class model fails, the 7-class one trains
    assert "entry point broken_net = tiny_plugin:NOT_THERE: cannot load it" in result.stderr
    by_classes = {r["params"]["model.params.classes"]: r for r in records(tmp_path / "out")}
    assert by_classes[7]["status"] == "complete" and by_classes[7]["model"]["builder"] == "tiny_net"
    assert by_classes[7]["model"]["macs_per_image"] is None and by_classes[7]["model"]["parameters"] == 60 + 49
    assert "maps (48, 48, 1) to (5,)" in by_classes[5]["error"]
    unknown = run_cli("validate", spec)
    assert unknown.returncode == 2 and "unknown builder 'tiny_net'" in unknown.stderr  # not installed here


@pytest.mark.slow
def test_evaluate_gives_the_scores_of_the_run_that_saved_the_model(kept_best, tmp_path):
    out, record = kept_best
    model = out / "keep" / record["trial_id"] / record["best_weights_file"]
    result = call_main("evaluate", model, "--data", SAMPLE, "--out", tmp_path / "scores")
    assert result.returncode == 0, result.stderr[-3000:]
    (scored,) = records(tmp_path / "scores")
    for key in ("val_accuracy", "public_test_accuracy", "private_test_accuracy"):
        assert scored["metrics"][key] == pytest.approx(record["best_metrics"][key], abs=1e-9)
    assert scored["best_confusion_matrix"] == record["best_confusion_matrix"]
    assert scored["spec"] == "evaluate" and scored["memory"]["peak_rss_mib"] > 0
    report = call_main("report", tmp_path / "scores", "-o", tmp_path / "r.md")
    assert report.returncode == 0 and "## evaluate" in (tmp_path / "r.md").read_text()


def test_evaluate_refuses_a_model_that_does_not_fit_fer2013(tmp_path):
    import keras

    inputs = keras.Input((48, 48, 1))
    outputs = keras.layers.Dense(5, activation="softmax")(keras.layers.Flatten()(inputs))
    keras.Model(inputs, outputs).save(tmp_path / "five.keras")
    result = call_main("evaluate", tmp_path / "five.keras", "--data", SAMPLE, "--out", tmp_path / "out")
    assert result.returncode == 2 and "maps (48, 48, 1) to (5,)" in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def run_tiny(tmp_path, name: str, dropout: float, seeds: int, out: str):
    spec = write(tmp_path / f"{out}.yaml", TINY.format(name=name, dropout=dropout, seeds=seeds))
    result = call_main("run", spec, "--out", tmp_path / out, "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path / out


@pytest.mark.slow
def test_compare_calls_the_same_run_within_noise_and_gates_a_real_regression(tmp_path):
    """Three runs of 2 seeds each (the fewest a paired test takes; 3 seeds cost 3 more trials, about 25 s)."""
    base = run_tiny(tmp_path, "cmp", 0.0, 2, "base")
    same = run_tiny(tmp_path, "cmp", 0.0, 2, "same")
    result = call_main("compare", base, same, "-o", tmp_path / "c.md")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("  cmp")]
    assert len(rows) == 3 and all(row.endswith("within noise") for row in rows), result.stdout
    assert "**0 regressions beyond noise.**" in (tmp_path / "c.md").read_text()
    other = run_tiny(tmp_path, "cmp", 0.9, 2, "other")
    moved = call_main("compare", base, other, "-o", tmp_path / "c.html")
    a = {r["seed"]: r["metrics"]["val_accuracy"] for r in records(base)}
    b = {r["seed"]: r["metrics"]["val_accuracy"] for r in records(other)}
    assert f"{(sum(b.values()) - sum(a.values())) / len(a) * 100:.2f}" in moved.stdout
    assert (moved.returncode == 5) == ("<< regression" in moved.stdout)
    # A known real drop: the base's own exported table with every validation accuracy 5 points lower.
    assert call_main("report", base, "-o", tmp_path / "r.md", "--export", tmp_path / "base.csv").returncode == 0
    import pandas as pd

    table = pd.read_csv(tmp_path / "base.csv")
    table["val_accuracy"] -= 0.05 + 0.001 * table["seed"]
    table.to_csv(tmp_path / "dropped.csv", index=False)
    gated = call_main("compare", tmp_path / "base.csv", tmp_path / "dropped.csv", "-o", tmp_path / "g.html")
    assert gated.returncode == 5 and "1 regression beyond noise" in gated.stderr, gated.stdout
    (line,) = [row for row in gated.stdout.splitlines() if "validation" in row]
    assert "paired t-test over seeds" in line and line.endswith("worse  << regression")
    assert "(regression)" in (tmp_path / "g.html").read_text()
    assert call_main("compare", tmp_path / "base.csv", tmp_path / "dropped.csv", "--threshold", "10").returncode == 0
    from_table = call_main("compare", tmp_path / "base.csv", same)
    assert from_table.returncode == 0 and from_table.stdout.count("within noise") == 3


@pytest.mark.slow
def test_only_runs_the_matching_trials_and_clean_removes_what_no_spec_makes(tmp_path):
    spec = write(tmp_path / "s.yaml", TINY.format(name="only", dropout=0.0, seeds=1)
                 + "sweep: {grid: {model.params.dropout: [0.0, 0.1, 0.2]}}\n")
    result = call_main("run", spec, "--out", tmp_path / "out", "--only", "dropout-0.1_*")
    assert result.returncode == 0, result.stderr[-2000:]
    assert [r["variant"] for r in records(tmp_path / "out")] == ["dropout-0.1"]
    assert call_main("run", spec, "--out", tmp_path / "out", "--only", "nothing*").returncode == 2
    write(spec, spec.read_text().replace("[0.0, 0.1, 0.2]", "[0.0, 0.2]"))
    listed = call_main("clean", tmp_path / "out")
    assert listed.returncode == 0 and "stale  only/dropout-0.1_s0_" in listed.stdout
    assert len(records(tmp_path / "out")) == 1  # listing removes nothing
    removed = call_main("clean", tmp_path / "out", "--yes")
    assert removed.returncode == 0 and "removed 1 records" in removed.stdout
    assert records(tmp_path / "out") == []
    plan = json.loads((tmp_path / "out" / "only" / "plan.json").read_text())["trials"]
    assert not any(k.startswith("dropout-0.1_") for k in plan)


@pytest.mark.slow
def test_a_trial_over_its_time_limit_is_recorded_as_timeout_with_its_memory(tmp_path):
    spec = write(tmp_path / "t.yaml", TINY.format(name="slow", dropout=0.0, seeds=1).replace(
        "epochs: 2, batch_size: 32", "epochs: 200, batch_size: 4"))
    result = call_main("run", spec, "--out", tmp_path / "out", "--trial-timeout", "3")
    assert result.returncode == 3, result.stderr[-2000:]
    (record,) = records(tmp_path / "out")
    assert record["status"] == "timeout" and "limit of 3s" in record["error"]
    assert 1 <= len(record["history"]) < 200 and record["timing"]["fit_s"] < 30
    assert record["config"]["training"]["timeout_s"] == 3
    assert record["memory"]["peak_rss_mib"] > 100 and record["memory"]["gpu_peak_mib"] is None
    again = call_main("run", spec, "--out", tmp_path / "out", "--trial-timeout", "3")
    assert "nothing to do" in again.stdout  # a timeout is a result, like a divergence
    status = call_main("status", tmp_path / "out")
    assert "1 timeout" in status.stdout


@pytest.mark.slow
def test_tensorboard_logs_and_an_mlflow_store_get_every_trial(tmp_path):
    pytest.importorskip("mlflow")
    spec = write(tmp_path / "s.yaml", TINY.format(name="track", dropout=0.0, seeds=2))
    result = call_main("run", spec, "--out", tmp_path / "out", "--tensorboard", "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    done = records(tmp_path / "out")
    for record in done:
        events = list((tmp_path / "out" / "track" / record["trial_id"] / "tensorboard").rglob("events.out.tfevents*"))
        assert events and record["tensorboard_dir"] == "tensorboard"
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    exported = call_main("mlflow", tmp_path / "out", "--tracking-uri", store, cwd=tmp_path)
    assert exported.returncode == 0 and "2 runs exported" in exported.stdout, exported.stderr[-2000:]
    again = call_main("mlflow", tmp_path / "out", "--tracking-uri", store, cwd=tmp_path)
    assert "0 runs exported" in again.stdout and "2 already there" in again.stdout
    from mlflow.tracking import MlflowClient

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("fer-bench")
    runs = {r.data.tags["fer_bench.trial_id"]: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {r["trial_id"] for r in done}
    for record in done:
        run = runs[record["trial_id"]]
        assert run.data.params["seed"] == str(record["seed"]) and run.info.status == "FINISHED"
        assert run.data.metrics["final_val_accuracy"] == pytest.approx(record["metrics"]["val_accuracy"])
        history = client.get_metric_history(run.info.run_id, "val_accuracy")
        assert [m.value for m in sorted(history, key=lambda m: m.step)] == \
            pytest.approx([h["val_accuracy"] for h in record["history"]])
        assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["record.json"]
    assert not (tmp_path / "mlruns").exists()
