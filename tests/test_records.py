"""The record layout and the storage under it, in-process: atomic writes, paths kept inside the
results folder, status with pending trials, and time to accuracy for records older than its block."""

import json
import os

import pytest

from fer_bench.errors import UserError, WriteError
from fer_bench.records import FORMAT_VERSION, reached_accuracy, status_table, time_to_accuracy, update_plan
from fer_bench.storage import inside, remove_stale_temp_files, write_json_atomic


def test_an_atomic_write_leaves_the_old_file_when_it_fails(tmp_path):
    target = tmp_path / "record.json"
    write_json_atomic(target, {"a": 1})

    def fail():
        raise OSError(28, "No space left on device")

    with pytest.raises(WriteError, match="cannot write"):
        write_json_atomic(target, {"a": 2}, before_rename=fail)
    assert json.loads(target.read_text()) == {"a": 1} and list(tmp_path.iterdir()) == [target]


def test_paths_through_a_symlink_out_of_the_results_are_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "spec").symlink_to(tmp_path / "elsewhere")
    assert inside(tmp_path / "out", "ok/trial") == (tmp_path / "out" / "ok" / "trial").resolve()
    with pytest.raises(UserError, match="outside the results directory"):
        inside(tmp_path / "out", "spec/trial")


def test_temp_files_of_dead_writers_go_and_live_ones_stay(tmp_path):
    dead = tmp_path / ".record.json.999999999.tmp"
    live = tmp_path / f".record.json.{os.getpid()}.tmp"
    dead.write_text("{")
    live.write_text("{")
    remove_stale_temp_files(tmp_path)
    assert not dead.exists() and live.exists()


def reference_records(run: str) -> list[dict]:
    """Records as fer-bench wrote them, from one of the committed reference runs."""
    from conftest import REPO

    folder = REPO / "results" / "reference" / run
    return [json.loads(path.read_text()) for path in sorted(folder.rglob("record.json"))]


def reference_record() -> dict:
    """A complete record from the H100 run."""
    return reference_records("h100-jax")[0]


def test_status_counts_records_and_planned_trials_without_one(tmp_path):
    spec = tmp_path / "s"
    record = {**reference_record(), "trial_id": "a_s0_0000000a"}
    assert record["format_version"] == FORMAT_VERSION and record["status"] == "complete"
    a, b, c = "a_s0_0000000a", "b_s0_0000000b", "c_s0_0000000c"
    write_json_atomic(spec / a / "record.json", record)
    write_json_atomic(spec / b / "record.json", {**record, "trial_id": b, "status": "diverged", "diverged_epoch": 2,
                                                 "error": "loss is nan"})
    update_plan(spec, {a: {}, b: {}, c: {}})
    rows = status_table(tmp_path)["s"]
    assert rows["complete"] == [a] and rows["diverged"] == [b] and rows["pending"] == [c]


def test_time_to_accuracy_comes_from_history_when_the_block_is_missing():
    history = [{"epoch": 1, "val_accuracy": 0.48, "since_fit_start_s": 2.0},
               {"epoch": 2, "val_accuracy": 0.57, "since_fit_start_s": 4.0}]
    derived = reached_accuracy({"history": history})
    assert derived == time_to_accuracy(history)
    assert derived["0.50"]["epoch"] == 2 and derived["0.55"]["epoch"] == 2 and derived["0.60"] is None
    assert reached_accuracy({"history": [], "time_to_accuracy": {}}) is None  # a scored saved model
    recorded = {"0.50": {"epoch": 7}}
    assert reached_accuracy({"history": history, "time_to_accuracy": recorded}) is recorded


def test_records_that_break_the_schema_are_skipped_with_a_warning_naming_file_and_field(tmp_path):
    """Read against the published schema (less the keys added since format 1 began: the committed H100
    records predate them): status, report and compare skip a broken record in one warning and read the rest."""
    from conftest import call_main

    record = reference_record()
    assert "predictions" not in record  # an older record: still read
    audited = reference_records("cpu-small-cnn")[0]
    audit = {k: v for k, v in audited["data"]["audit"].items() if k != "threshold_rms"}
    broken = {"status": {**record, "status": 3}, "id": {k: v for k, v in record.items() if k != "trial_id"},
              "metric": {**record, "metrics": {**record["metrics"], "val_accuracy": "high"}},
              "predictions": {**record, "predictions": {"split": "public_test", "indices": [1], "true": None,
                                                        "predicted": [0], "probabilities": [[1.0]]}},
              "audit": {**audited, "data": {**audited["data"], "audit": audit}},
              # found by the field sweep: each was a TypeError or AttributeError in the report
              "backend": {**record, "environment": {**record["environment"], "backend_version": []}},
              "dataset": {**record, "config": {**record["config"], "dataset": "x"}},
              "path": {**record, "data": {**record["data"], "path": None}}}
    for name, content in {"good": record, **broken}.items():
        folder = tmp_path / "r" / record["spec"] / name
        folder.mkdir(parents=True)
        (folder / "record.json").write_text(json.dumps(content))
    status = call_main("status", tmp_path / "r")
    assert status.returncode == 0 and f"{record['spec']}: 1 complete" in status.stdout, status.stdout
    warnings = status.stderr.strip().splitlines()
    assert len(warnings) == 8 and all(w.startswith("warning: ") and w.endswith("; skipped") for w in warnings)
    assert "/status/record.json: not a valid record (record.status must be one of" in status.stderr
    assert "/id/record.json: not a valid record (record must contain ['trial_id']" in status.stderr
    assert "/metric/record.json: not a valid record (record.metrics.val_accuracy must be number or null)" \
        in status.stderr
    assert "/predictions/record.json: not a valid record (record.predictions.true must be array)" in status.stderr
    assert "/audit/record.json: not a valid record (record.data.audit must contain ['threshold_rms']" in status.stderr
    assert "/backend/record.json: not a valid record (record.environment.backend_version must be string or null" \
        in status.stderr
    assert "/dataset/record.json: not a valid record (record.config.dataset must be object)" in status.stderr
    assert "/path/record.json: not a valid record (record.data.path must be string)" in status.stderr
    report = call_main("report", tmp_path / "r", "-o", tmp_path / "r.md")
    assert report.returncode == 0 and report.stderr.count("; skipped") == 8, report.stderr
    compare = call_main("compare", tmp_path / "r", tmp_path / "r")
    assert compare.returncode == 0 and "Traceback" not in compare.stderr, compare.stderr
