"""kill -9 at every phase of a run, disk full, and symlinks out of the results directory.

Each kill point is reached deterministically through FER_BENCH_FAULT; after a rerun every trial
has exactly one complete record, the interrupted one is redone, and nothing half-written is left.
"""

import json

import pytest
from conftest import REPO, run_cli

from fer_bench.faults import PHASES
from fer_bench.records import iter_records

SPEC = REPO / "benchmark" / "smoke.yaml"
FLAGS = ("--epochs", "2", "--seeds", "1")


def records(out) -> dict:
    return {r["trial_id"]: r for _, r in iter_records(out)}


@pytest.mark.slow
@pytest.mark.parametrize("phase", PHASES)
def test_kill_at_each_phase_then_rerun(phase, tmp_path):
    env = {"FER_BENCH_CACHE": str(tmp_path / "cache"), "FER_BENCH_FAULT": f"kill@{phase}"}
    killed = run_cli("run", SPEC, "--out", tmp_path / "out", *FLAGS, env=env)
    assert killed.returncode == -9, killed.stdout[-2000:] + killed.stderr[-2000:]
    assert f"fault: killed at {phase}" in killed.stdout
    before = records(tmp_path / "out")
    assert all(r["status"] == "complete" for r in before.values())
    rerun = run_cli("run", SPEC, "--out", tmp_path / "out", *FLAGS, env={"FER_BENCH_CACHE": str(tmp_path / "cache")})
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    after = records(tmp_path / "out")
    assert len(after) == 2 and all(r["status"] == "complete" for r in after.values())
    assert {k: v["finished_at"] for k, v in before.items()} == {k: after[k]["finished_at"] for k in before}
    assert rerun.stdout.count(": training 2 epochs") == 2 - len(before)
    leftovers = [p for p in (tmp_path / "out").rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".claim")]
    assert leftovers == []
    assert "Traceback" not in rerun.stderr


@pytest.mark.slow
def test_disk_full_while_writing_a_record(tmp_path):
    result = run_cli("run", SPEC, "--out", tmp_path, *FLAGS, env={"FER_BENCH_FAULT": "enospc@write:dropout-0.25_s0"})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write (No space left on device)" in lines[0] and "record.json" in lines[0]
    (kept,) = records(tmp_path).values()
    assert kept["status"] == "complete" and kept["variant"] == "dropout-0"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".claim")]


def test_a_symlink_out_of_the_results_directory_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "smoke").symlink_to(outside)
    result = run_cli("run", SPEC, "--out", tmp_path / "out", *FLAGS)
    assert result.returncode == 2 and "outside the results directory" in result.stderr
    assert result.stderr.count("\n") == 1 and list(outside.iterdir()) == []


@pytest.mark.slow
def test_corrupt_and_foreign_records_do_not_stop_a_run(tmp_path):
    first = run_cli("run", SPEC, "--out", tmp_path, *FLAGS)
    assert first.returncode == 0
    paths = sorted(tmp_path.rglob("record.json"))
    paths[0].write_text("{half a record")
    future = json.loads(paths[1].read_text())
    future["format_version"] = 99
    paths[1].write_text(json.dumps(future))
    (tmp_path / "smoke" / "notes.txt").write_text("unrelated")
    rerun = run_cli("run", SPEC, "--out", tmp_path, *FLAGS)
    assert rerun.returncode == 0 and "unreadable record skipped" in rerun.stderr
    assert "record format 99 is not 1" in rerun.stderr
    assert "2 trials run (2 complete" in rerun.stdout
