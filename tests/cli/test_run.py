"""`fer-bench run` end to end, with records read back: the smoke run as a user runs it (a real process),
the other runs through main() in the test's own process."""

import json
import os

import jsonschema
import pytest
from conftest import REPO, call_main, load_best_model, one_epoch_spec, write

from fer_bench.records import iter_records
from fer_bench.training.inputs import PIPELINE_TF_DATA

SCHEMA = json.loads((REPO / "fer_bench" / "schema" / "record.schema.json").read_text())


def records(out):
    return {r["trial_id"]: r for _, r in iter_records(out)}


SMOKE = (REPO / "benchmark/smoke.yaml", "--seeds", "2")  # as the smoke_results fixture ran it


@pytest.mark.slow
def test_smoke_run_writes_one_valid_record_per_trial(smoke_results):
    out, result = smoke_results
    assert result.returncode == 0, result.stderr
    assert "done: 4 trials run (4 complete, 0 diverged, 0 timeout, 0 failed)" in result.stdout
    assert "ETA" in result.stdout
    assert "oneDNN" not in result.stderr and "Traceback" not in result.stderr
    found = records(out)
    assert len(found) == 4
    for trial_id, record in found.items():
        jsonschema.validate(record, SCHEMA)
        assert (out / "smoke" / trial_id / "record.json").is_file()
        assert record["status"] == "complete" and record["data"]["source"] == "sample"
        assert len(record["history"]) == 2 and all(h["lr"] == pytest.approx(5e-4) for h in record["history"])
        # CPU seconds of all threads: some for any epoch, at most every core busy for the whole epoch
        assert all(0 < h["cpu_s"] <= h["time_s"] * os.cpu_count() + 0.1 for h in record["history"])
        assert sum(map(sum, record["confusion_matrix"]["public_test"])) == record["data"]["n"]["public_test"]
        assert 0.0 <= record["metrics"]["public_test_accuracy"] <= 1.0
        for scores in (record["metrics"], record["best_metrics"]):  # beyond accuracy (training/quality.py)
            assert scores["temperature"] > 0
            for split in ("val", "public_test", "private_test"):
                assert 0 <= scores[f"{split}_balanced_accuracy"] <= 1 and 0 <= scores[f"{split}_macro_f1"] <= 1
                assert 0 <= scores[f"{split}_ece"] <= 1 and 0 <= scores[f"{split}_ece_scaled"] <= 1
                assert scores[f"{split}_nll"] > 0 and 0 < scores[f"{split}_brier"] <= 2
        assert record["environment"]["backend"] == "tensorflow"
        assert record["environment"]["data_fingerprint"] == record["data"]["fingerprint"]
        assert record["best_epoch"] in (1, 2)
    assert {r["params"]["model.params.dropout"] for r in found.values()} == {0.0, 0.25}
    assert {r["seed"] for r in found.values()} == {0, 1}


@pytest.mark.slow
def test_rerun_skips_completed_trials(smoke_results):
    out, _ = smoke_results
    before = {p: p.stat().st_mtime_ns for p in out.rglob("record.json")}
    result = call_main("run", *SMOKE, "--out", out)
    assert result.returncode == 0 and "nothing to do: all 4 trials already recorded" in result.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("record.json")} == before


@pytest.mark.slow
def test_status_lists_trials_per_spec(smoke_results):
    out, _ = smoke_results
    result = call_main("status", out)
    assert result.returncode == 0 and "smoke: 4 complete, 0 diverged, 0 timeout, 0 failed, 0 pending" in result.stdout


@pytest.mark.slow
def test_failing_trial_is_recorded_and_the_run_goes_on(tmp_path):
    spec = REPO / "benchmark/smoke.yaml"
    result = call_main("run", spec, "--out", tmp_path, "--epochs", "1",
                       env={"FER_BENCH_FAULT": "raise@build:dropout-0_s0"})
    assert result.returncode == 3
    assert "1 complete, 0 diverged, 0 timeout, 1 failed" in result.stdout
    by_status = {r["status"]: r for r in records(tmp_path).values()}
    failed = by_status["failed"]
    assert failed["error"] == "RuntimeError: injected fault at build (FER_BENCH_FAULT)"
    log = (tmp_path / "smoke" / failed["trial_id"] / "error.log").read_text()
    assert "Traceback" in log and "injected fault" in log
    retried = call_main("run", spec, "--out", tmp_path, "--epochs", "1")
    assert retried.returncode == 0 and "1 trials run (1 complete" in retried.stdout


@pytest.mark.slow
def test_diverging_trial_is_recorded_with_its_epoch(tmp_path):
    spec = write(tmp_path / "diverge.yaml", """
name: diverge
dataset: {source: sample}
model: {params: {conv_filters: [8], conv_kernels: [3], dense_units: [], batch_norm: false, dropout: 0.0}}
training:
  epochs: 3
  optimizer: {name: adam, learning_rate: 10}
  callbacks: {reduce_lr_on_plateau: null}
seeds: 1
""")
    result = call_main("run", spec, "--out", tmp_path / "out")
    assert result.returncode == 3, result.stderr
    (record,) = records(tmp_path / "out").values()
    assert record["status"] == "diverged" and record["diverged_epoch"] >= 1
    assert "100x the loss of a uniform guess" in record["error"] or "nan" in record["error"]
    assert "metrics" not in record
    rerun = call_main("run", spec, "--out", tmp_path / "out")
    assert "nothing to do" in rerun.stdout  # diverged is a result, not a failure to retry


@pytest.mark.slow
def test_overrides_are_recorded_and_change_the_trial_id(tmp_path):
    result = call_main("run", REPO / "benchmark/smoke.yaml", "--out", tmp_path, "--epochs", "1", "--seeds", "1",
                       "--max-train-samples", "70", "--max-eval-samples", "40", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "epoch" not in result.stdout
    for record in records(tmp_path).values():
        assert record["overrides"] == {"epochs": 1, "max_train_samples": 70, "max_eval_samples": 40, "seeds": 1}
        assert record["data"]["n"] == {"train": 70, "validation": 40, "public_test": 40, "private_test": 40}
        assert len(record["history"]) == 1


@pytest.mark.slow
def test_keep_best_weights_saves_the_model_that_scored_best(kept_best):
    import numpy as np

    from fer_bench.data.formats import SAMPLE_PATH
    from fer_bench.data.source import load_data

    out, record = kept_best
    model = load_best_model(out, record)
    data = load_data(SAMPLE_PATH)
    public = data.indices("PublicTest")
    predicted = model.predict(data.pixels[public][..., None] / 255.0, verbose=0).argmax(1)
    assert np.mean(predicted == data.labels[public]) == pytest.approx(record["best_metrics"]["public_test_accuracy"])


@pytest.mark.slow
def test_gradient_statistics_can_be_switched_off(tmp_path):
    spec = one_epoch_spec(tmp_path / "nograd.yaml")
    assert call_main("run", spec, "--out", tmp_path / "out", "--quiet").returncode == 0
    (record,) = records(tmp_path / "out").values()
    assert "grad_norms" not in record["history"][0] and record["config"]["training"]["gradient_stats"] is False


@pytest.mark.slow
def test_speed_options_train_the_same_model_and_are_recorded(tmp_path):
    """Several steps per compiled call change how often Python is involved, not what is learned."""
    spec = write(tmp_path / "speed.yaml", """
name: speed
dataset: {source: sample}
model: {params: {conv_filters: [8], conv_kernels: [3], dense_units: [], dropout: 0.0}}
training: {epochs: 2, gradient_stats: false, jit_compile: false}
seeds: 1
sweep:
  grid:
    training.steps_per_execution: [1, 4]
""")
    result = call_main("run", spec, "--out", tmp_path / "out", "--quiet")
    assert result.returncode == 0, result.stderr
    found = {r["compilation"]["steps_per_execution"]: r for r in records(tmp_path / "out").values()}
    assert set(found) == {1, 4}
    for record in found.values():
        jsonschema.validate(record, SCHEMA)
        compiled = record["compilation"]
        assert compiled["jit_compile_requested"] is False and compiled["jit_compile"] is False
        assert compiled["compiler"] == "tf.function graph"
        assert compiled["input_pipeline"] == PIPELINE_TF_DATA
    one, four = ([h["loss"] for h in found[n]["history"]] for n in (1, 4))
    assert four == pytest.approx(one, rel=1e-4)
    assert found[4]["metrics"]["val_accuracy"] == pytest.approx(found[1]["metrics"]["val_accuracy"])


def test_the_first_line_names_the_data_and_a_stand_in_sample_is_warned_about(tmp_path):
    """A spec written for the full data (no dataset.source) run with none given: the sample stands in,
    and both the warning and the run's first line say so; a spec that asks for the sample is not warned."""
    tiny = "model: {params: {conv_filters: [8], conv_kernels: [3], dense_units: []}}\ntraining: {epochs: 1}\nseeds: 1\n"
    meant_for_full = write(tmp_path / "full.yaml", "name: full\n" + tiny)
    asks_sample = write(tmp_path / "sample.yaml", "name: sample\ndataset: {source: sample}\n" + tiny)
    env = {"FER_BENCH_DATA": None}
    listed = call_main("list", meant_for_full, "--out", tmp_path / "out", env=env)
    assert listed.returncode == 0 and "warning: " in listed.stderr
    (warning,) = listed.stderr.strip().splitlines()
    assert str(meant_for_full) in warning and "bundled 500-image sample stands in" in warning
    assert "--data PATH or $FER_BENCH_DATA" in warning
    ran = call_main("run", meant_for_full, asks_sample, "--out", tmp_path / "out", env=env)
    assert ran.returncode == 0 and ran.stderr.count("sample stands in") == 1, ran.stderr
    first = next(line for line in ran.stdout.splitlines() if line.startswith("running "))
    assert "; data the bundled 500-image sample; results in" in first, first


def test_split_seed_per_seed_draws_each_seeds_split_and_records_both_seeds(tmp_path):
    from fer_bench.data.source import load_data
    from fer_bench.scheduling.plan import Planner
    from fer_bench.spec.load import load_spec
    from fer_bench.spec.trials import Overrides, expand

    tiny = ("dataset: {source: sample, split_seed: %s}\nmodel: {params: {conv_filters: [8], conv_kernels: [3], "
            "dense_units: []}}\ntraining: {epochs: 1, gradient_stats: false}\nseeds: 2\n")
    per_seed = write(tmp_path / "per.yaml", "name: per\n" + tiny % "per_seed")
    fixed = write(tmp_path / "fixed.yaml", "name: per\n" + tiny % "1302")
    planner = Planner(load_data(REPO / "fer_bench" / "sample" / "fer2013-sample.csv.gz"))
    planned = [planner.plan(t) for t in expand(load_spec(per_seed), Overrides())]
    assert [p.trial.split_seed for p in planned] == [0, 1]
    validation = [set(p.splits["validation"].indices) for p in planned]
    assert validation[0] != validation[1] and len(validation[0]) == len(validation[1])
    assert set(planned[0].splits["public_test"].indices) == set(planned[1].splits["public_test"].indices)
    fixed_ids = [planner.plan(t).trial_id for t in expand(load_spec(fixed), Overrides())]
    assert not set(fixed_ids) & {p.trial_id for p in planned}  # another design, other ids
    result = call_main("run", per_seed, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr[-2000:]
    kept = {r["seed"]: r for _, r in iter_records(tmp_path / "out")}
    assert {seed: r["data"]["split_seed"] for seed, r in kept.items()} == {0: 0, 1: 1}
    assert all(r["config"]["dataset"]["split_seed"] == "per_seed" for r in kept.values())
    assert sorted(r["trial_id"] for r in kept.values()) == sorted(p.trial_id for p in planned)
    for record in kept.values():
        jsonschema.validate(record, SCHEMA)


@pytest.mark.slow
def test_corruptions_on_scores_fer2013_c_into_the_record_and_off_keeps_the_trial_id(tmp_path):
    spec = one_epoch_spec(tmp_path / "robust.yaml")
    result = call_main("run", spec, "--out", tmp_path / "out", "--corruptions", "on")
    assert result.returncode == 0, result.stderr
    (record,) = records(tmp_path / "out").values()
    jsonschema.validate(record, SCHEMA)
    corruptions = record["corruptions"]
    assert len(corruptions["accuracy"]) == 18 and all(len(v) == 5 for v in corruptions["accuracy"].values())
    assert corruptions["clean_accuracy"] == record["metrics"]["public_test_accuracy"]
    assert record["metrics"]["public_test_c_accuracy"] == corruptions["mean_accuracy"]
    assert corruptions["images"] == record["data"]["n"]["public_test"] and record["overrides"]["corruptions"] == "on"
    # off is the default: the same trial as the spec without the key, so its record is found, not retrained
    plain = call_main("list", spec, "--out", tmp_path / "out", "--corruptions", "off")
    assert plain.returncode == 0 and record["trial_id"] not in plain.stdout
    assert call_main("list", spec, "--out", tmp_path / "out").stdout == plain.stdout
