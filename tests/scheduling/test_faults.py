"""kill -9 at every phase of a run, disk full, and symlinks out of the results directory.

Each kill point is reached deterministically through FER_BENCH_FAULT in a real `fer-bench run` process;
after a rerun every trial has exactly one complete record, the interrupted one is redone, and nothing
half-written is left. What follows a kill (status, the rerun) is not about a process and runs in this one.
"""

import json

import pytest
from conftest import call_main, run_cli, write

from fer_bench.faults import PHASES
from fer_bench.records import iter_records

# The smoke spec's two trials (dropout 0 and 0.25) on a smaller CNN: what is killed is the run, not the model.
SMOKE = """
name: smoke
dataset: {source: sample}
model: {params: {conv_filters: [8, 16], conv_kernels: [3, 3], dense_units: [16]}}
training: {epochs: 2, batch_size: 32}
seeds: 1
sweep: {grid: {model.params.dropout: [0.0, 0.25]}}
"""
FLAGS = ("--epochs", "2", "--seeds", "1")
# A kill there leaves the temporary file (in the results, or the audit's in the cache), never a half file.
ATOMIC_WRITES = ("plan", "audit", "write")


@pytest.fixture
def spec(tmp_path):
    return write(tmp_path / "smoke.yaml", SMOKE)


def records(out) -> dict:
    return {r["trial_id"]: r for _, r in iter_records(out)}


def half_written(out) -> list:
    return [p for p in out.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".claim")]


@pytest.mark.slow
@pytest.mark.parametrize("phase", PHASES)
def test_kill_at_each_phase_then_rerun(phase, spec, tmp_path):
    cache = {"FER_BENCH_CACHE": str(tmp_path / "cache")}
    killed = run_cli("run", spec, "--out", tmp_path / "out", *FLAGS, env={**cache, "FER_BENCH_FAULT": f"kill@{phase}"})
    assert killed.returncode == -9, killed.stdout[-2000:] + killed.stderr[-2000:]
    assert f"fault: killed at {phase}" in killed.stdout
    before = records(tmp_path / "out")
    assert all(r["status"] == "complete" for r in before.values())
    if phase in ATOMIC_WRITES:
        assert [p.name for p in half_written(tmp_path) if p.name.endswith(".tmp")]
    if PHASES.index(phase) > PHASES.index("plan"):
        status = call_main("status", tmp_path / "out")
        assert f"smoke: {len(before)} complete, 0 diverged, 0 timeout, 0 failed, {2 - len(before)} pending" \
            in status.stdout, status.stdout
    rerun = call_main("run", spec, "--out", tmp_path / "out", *FLAGS, env=cache)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    after = records(tmp_path / "out")
    assert len(after) == 2 and all(r["status"] == "complete" for r in after.values())
    assert {k: v["finished_at"] for k, v in before.items()} == {k: after[k]["finished_at"] for k in before}
    assert rerun.stdout.count(": training 2 epochs") == 2 - len(before)
    assert f"running {2 - len(before)} trials ({len(before)} already recorded)" in rerun.stdout
    assert f"{2 - len(before)} trials run ({2 - len(before)} complete, 0 diverged, 0 timeout, 0 failed), " \
           f"{len(before)} skipped" in rerun.stdout
    assert half_written(tmp_path / "out") == []
    assert "Traceback" not in rerun.stderr


@pytest.mark.slow
def test_disk_full_while_writing_a_record(spec, tmp_path):
    out = tmp_path / "out"
    result = call_main("run", spec, "--out", out, *FLAGS, env={"FER_BENCH_FAULT": "enospc@write:dropout-0.25_s0"})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write (No space left on device)" in lines[0] and "record.json" in lines[0]
    (kept,) = records(out).values()
    assert kept["status"] == "complete" and kept["variant"] == "dropout-0"
    assert not half_written(out)


def test_a_symlink_out_of_the_results_directory_is_refused(spec, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "smoke").symlink_to(outside)
    result = call_main("run", spec, "--out", tmp_path / "out", *FLAGS)
    assert result.returncode == 2 and "outside the results directory" in result.stderr
    assert result.stderr.count("\n") == 1 and list(outside.iterdir()) == []


@pytest.mark.slow
def test_corrupt_and_foreign_records_do_not_stop_a_run(spec, tmp_path):
    first = call_main("run", spec, "--out", tmp_path / "out", *FLAGS)
    assert first.returncode == 0
    paths = sorted((tmp_path / "out").rglob("record.json"))
    paths[0].write_text("{half a record")
    future = json.loads(paths[1].read_text())
    future["format_version"] = 99
    paths[1].write_text(json.dumps(future))
    (tmp_path / "out" / "smoke" / "notes.txt").write_text("unrelated")
    rerun = call_main("run", spec, "--out", tmp_path / "out", *FLAGS)
    assert rerun.returncode == 0 and "unreadable record skipped" in rerun.stderr
    assert "record format 99 is not 1" in rerun.stderr
    assert "2 trials run (2 complete" in rerun.stdout
