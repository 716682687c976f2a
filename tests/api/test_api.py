"""The Python API (fer_bench.run, plan, report, compare): each verb through the same code as the CLI, with
models given as callables for one call, and the CLI's `--model-file`; mistakes raise, never exit."""

import json
import time

import jsonschema
import psutil
import pytest
from conftest import REPO, call_main, write

import fer_bench
from fer_bench.errors import UserError
from fer_bench.models import BUILDERS
from fer_bench.records import iter_records

SCHEMA = json.loads((REPO / "fer_bench" / "schema" / "record.schema.json").read_text())

TINY = """
name: same
dataset: {source: sample}
model: {params: {conv_filters: [8, 16], conv_kernels: [3, 3], dense_units: [16]}}
training: {epochs: 1, batch_size: 32, gradient_stats: false}
seeds: 2
"""

MODEL_FILE = '''
import keras


def small_cnn(filters=4, classes=7):
    """One convolution, pooled hard."""
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(filters, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x))


def broken(**params):
    raise RuntimeError("no such layer")


MODELS = {"small_cnn": small_cnn, "broken": broken}
'''

SWEEP = {"name": "swept", "dataset": {"source": "sample"}, "model": {"builder": "small_cnn", "params": {"filters": 4}},
         "training": {"epochs": 1, "batch_size": 32, "gradient_stats": False}, "seeds": 1,
         "sweep": {"grid": {"model.params.filters": [4, 6]}}}

# What differs between two runs of one trial apart from what it computes: times, and how it was invoked
TIMES = {"started_at", "finished_at", "timing", "memory", "command", "time_to_accuracy", "_path"}


def comparable(record: dict) -> dict:
    kept = {k: v for k, v in record.items() if k not in TIMES}
    kept["history"] = [{k: v for k, v in epoch.items() if not k.endswith("_s")} for epoch in record["history"]]
    kept["compilation"] = {k: v for k, v in record.get("compilation", {}).items() if k not in ("compile_s", "cache")}
    kept["model"] = {k: v for k, v in record["model"].items() if k != "source"}
    # what the final weights cost to run: their size is computed, the latency and throughput are times
    kept["running_cost"] = {k: v for k, v in record.get("running_cost", {}).items()
                            if k not in ("latency_ms", "images_per_s")}
    return kept


def by_id(out) -> dict:
    return {r["trial_id"]: r for _, r in iter_records(out)}


def model_file(tmp_path):
    path = write(tmp_path / "my_models.py", MODEL_FILE)
    namespace = {}
    exec(compile(MODEL_FILE, str(path), "exec"), namespace)  # the same functions, as a notebook cell has them
    return path, namespace


@pytest.mark.slow
def test_run_from_python_records_what_the_cli_records(tmp_path):
    """The same records, times apart. The CLI's clock starts at the process's start (here the test
    worker's, in this process), the API's at its call: a notebook's kernel may be hours old."""
    spec = write(tmp_path / "same.yaml", TINY)
    process_age = time.time() - psutil.Process().create_time()
    cli = call_main("run", spec, "--out", tmp_path / "cli", "--quiet")
    assert cli.returncode == 0, cli.stderr[-2000:]
    called = time.time()
    frame = fer_bench.run(spec, out=tmp_path / "api", progress="off")
    call_s = time.time() - called
    assert sorted(frame["trial_id"]) == sorted(by_id(tmp_path / "cli")) and set(frame["status"]) == {"complete"}
    ours, theirs = by_id(tmp_path / "api"), by_id(tmp_path / "cli")
    for trial_id, record in theirs.items():
        assert comparable(ours[trial_id]) == comparable(record), trial_id
        assert record["history"][0]["since_process_start_s"] > process_age
        assert ours[trial_id]["history"][0]["since_process_start_s"] <= call_s
    assert ours[trial_id]["command"][:2] == ["fer-bench", "run"]  # the command that redoes it


@pytest.mark.slow
def test_a_model_from_a_cell_and_from_a_model_file_sweep_alike_and_a_broken_one_fails_its_trial(tmp_path):
    path, cell = model_file(tmp_path)
    frame = fer_bench.run(SWEEP, out=tmp_path / "api", models={"small_cnn": cell["small_cnn"]}, progress="off")
    assert sorted(frame["params"]) == ['{"model.params.filters": 4}', '{"model.params.filters": 6}']
    assert set(frame["status"]) == {"complete"} and "small_cnn" not in BUILDERS  # for that call only
    written = tmp_path / "api" / "swept" / "spec.yaml"  # the dict, as a file the CLI can run again
    cli = call_main("run", written, "--model-file", path, "--out", tmp_path / "cli", "--quiet")
    assert cli.returncode == 0, cli.stderr[-2000:]
    ours, theirs = by_id(tmp_path / "api"), by_id(tmp_path / "cli")
    assert sorted(ours) == sorted(theirs) and len(ours) == 2
    for trial_id, record in theirs.items():
        assert comparable(ours[trial_id]) == comparable(record), trial_id
        assert record["model"]["source"].startswith(f"file: {path} (sha256 ")
        assert ours[trial_id]["model"]["source"].endswith(".small_cnn") and record["model"]["parameters"] > 0
        jsonschema.validate(record, SCHEMA)
        jsonschema.validate(ours[trial_id], SCHEMA)

    # a wrong output shape and an exception at build: each fails its trial in one line, as a plug-in's does
    wrong = {**SWEEP, "name": "wrong", "model": {"builder": "small_cnn", "params": {"classes": 5}}, "sweep": None}
    bad = fer_bench.run(wrong, out=tmp_path / "api", models={"small_cnn": cell["small_cnn"]}, progress="off")
    assert list(bad["status"]) == ["failed"] and "maps (48, 48, 1) to (5,)" in bad["error"][0]
    broken = {**SWEEP, "name": "broken", "model": {"builder": "broken"}, "sweep": None}
    result = call_main("run", write(tmp_path / "broken.yaml", json.dumps(broken)), "--model-file", path,
                       "--out", tmp_path / "cli")
    assert result.returncode == 3
    (failed,) = [r for r in by_id(tmp_path / "cli").values() if r["spec"] == "broken"]
    assert failed["error"] == "RuntimeError: no such layer" and "\n" not in failed["error"]


def test_mistakes_raise_user_errors_and_never_exit(tmp_path):
    with pytest.raises(UserError, match="model.builder: unknown builder 'nowhere'"):
        fer_bench.run({**SWEEP, "model": {"builder": "nowhere"}}, out=tmp_path, progress="off")
    with pytest.raises(UserError, match="spec \\(a dict\\): name"):
        fer_bench.run({"dataset": {"source": "sample"}}, out=tmp_path)
    with pytest.raises(UserError, match="epochs: expected a positive integer"):
        fer_bench.run(SWEEP, out=tmp_path, epochs=0, models={"small_cnn": print})
    with pytest.raises(UserError, match="models: 'cnn' exists already"):
        fer_bench.run(SWEEP, out=tmp_path, models={"cnn": print})
    with pytest.raises(UserError, match="progress: 'loud'"):
        fer_bench.run(SWEEP, out=tmp_path, progress="loud", models={"small_cnn": print})
    with pytest.raises(UserError, match="give a results directory or a table"):
        fer_bench.compare(tmp_path / "nothing", tmp_path / "nothing")
    assert not list(iter_records(tmp_path))


def test_model_file_mistakes_are_one_line(tmp_path):
    spec = write(tmp_path / "s.yaml", json.dumps({**SWEEP, "sweep": None}))
    cases = {"missing.py": "no such file", "empty.py": "defines no builder",
             "raises.py": "raises.py:2: it raised ZeroDivisionError: division by zero"}
    write(tmp_path / "empty.py", "x = 1\n")
    write(tmp_path / "raises.py", "import math\n1 / 0\n")
    for name, expected in cases.items():
        result = call_main("list", spec, "--model-file", tmp_path / name)
        assert result.returncode == 2 and expected in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_plan_is_what_list_shows(tmp_path):
    path, cell = model_file(tmp_path)
    plan = fer_bench.plan(SWEEP, out=tmp_path, models={"small_cnn": cell["small_cnn"]}, epochs=2)
    assert list(plan["state"]) == ["pending", "pending"] and list(plan["epochs"]) == [2, 2]
    listed = call_main("list", tmp_path / "swept" / "spec.yaml", "--model-file", path, "--epochs", "2",
                       "--out", tmp_path)
    assert listed.returncode == 0, listed.stderr
    for trial_id in plan["trial_id"]:
        assert trial_id in listed.stdout


@pytest.mark.slow
def test_report_and_compare_from_python(tmp_path):
    spec = write(tmp_path / "same.yaml", TINY)
    fer_bench.run(spec, out=tmp_path / "a", progress="off")
    page = fer_bench.report([tmp_path / "a"], tmp_path / "r.md", export=tmp_path / "t.csv")
    assert page == tmp_path / "r.md" and "## same" in page.read_text() and (tmp_path / "t.csv").is_file()
    verdicts = fer_bench.compare(tmp_path / "a", tmp_path / "t.csv", output=tmp_path / "c.md")  # a run against itself
    assert set(verdicts["verdict"]) == {"within noise"} and not verdicts["gate"].any()
    assert (verdicts["change"] == 0).all() and (verdicts["n_base"] == 2).all()
    assert {"spec", "variant", "metric", "base", "candidate", "change", "p_value"} <= set(verdicts.columns)
    assert (tmp_path / "c.md").is_file()
    calibration = fer_bench.compare(tmp_path / "a", tmp_path / "t.csv", metric="ece")
    assert list(calibration["metric"]) == ["val_ece", "public_test_ece", "private_test_ece"]
    assert set(calibration["verdict"]) == {"within noise"} and calibration["lower_is_better"].all()


@pytest.mark.slow
def test_an_interrupt_keeps_every_finished_record(tmp_path):
    """Ctrl-C in the second trial's build (here raised by the model itself): the first trial's record stays,
    the interrupt reaches the caller, and the next call trains only the second."""
    calls = []

    def interrupted_second(filters=4):
        calls.append(filters)
        if filters == 6 and len(calls) == 2:
            raise KeyboardInterrupt
        path, cell = model_file(tmp_path)
        return cell["small_cnn"](filters)

    with pytest.raises(KeyboardInterrupt):
        fer_bench.run(SWEEP, out=tmp_path / "out", models={"small_cnn": interrupted_second}, progress="off")
    assert [r["params"] for r in by_id(tmp_path / "out").values()] == [{"model.params.filters": 4}]
    again = fer_bench.run(SWEEP, out=tmp_path / "out", models={"small_cnn": interrupted_second}, progress="off")
    assert set(again["status"]) == {"complete"} and calls == [4, 6, 6]
