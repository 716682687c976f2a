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


def test_status_counts_records_and_planned_trials_without_one(tmp_path):
    spec = tmp_path / "s"
    record = {"format_version": FORMAT_VERSION, "trial_id": "a_s0_1", "status": "complete"}
    write_json_atomic(spec / "a_s0_1" / "record.json", record)
    write_json_atomic(spec / "b_s0_2" / "record.json", {**record, "trial_id": "b_s0_2", "status": "diverged"})
    update_plan(spec, {"a_s0_1": {}, "b_s0_2": {}, "c_s0_3": {}})
    rows = status_table(tmp_path)["s"]
    assert rows["complete"] == ["a_s0_1"] and rows["diverged"] == ["b_s0_2"] and rows["pending"] == ["c_s0_3"]


def test_time_to_accuracy_comes_from_history_when_the_block_is_missing():
    history = [{"epoch": 1, "val_accuracy": 0.48, "since_fit_start_s": 2.0},
               {"epoch": 2, "val_accuracy": 0.57, "since_fit_start_s": 4.0}]
    derived = reached_accuracy({"history": history})
    assert derived == time_to_accuracy(history)
    assert derived["0.50"]["epoch"] == 2 and derived["0.55"]["epoch"] == 2 and derived["0.60"] is None
    assert reached_accuracy({"history": [], "time_to_accuracy": {}}) is None  # a scored saved model
    recorded = {"0.50": {"epoch": 7}}
    assert reached_accuracy({"history": history, "time_to_accuracy": recorded}) is recorded
