"""`run --workers N`: N processes on one results folder, each trial trained once, each worker on its share of
the cores; a search through a chief on loopback."""

import os

import pytest
from conftest import call_main, run_cli, write

from fer_bench.distributed.local_workers import combined, core_shares, strip_flags
from fer_bench.records import iter_records

TINY = "{params: {conv_filters: [8, 16], conv_kernels: [3, 3], dense_units: [16]}}"


def test_the_launchers_flags_are_not_passed_on():
    argv = ["run", "spec.yaml", "--workers", "2", "--devices=0,1", "--only", "x*", "--epochs", "1"]
    assert strip_flags(argv) == ["run", "spec.yaml", "--only", "x*", "--epochs", "1"]
    assert strip_flags(argv, ("--only", "--workers", "--devices")) == ["run", "spec.yaml", "--epochs", "1"]


def test_cores_are_shared_out_without_overlap():
    cores = sorted(os.sched_getaffinity(0))
    shares = core_shares(len(cores))
    assert [sorted(s) for s in shares] == [[c] for c in cores]
    assert core_shares(len(cores) + 1)[-1] == {cores[0]}  # more workers than cores: round-robin


def test_the_most_serious_exit_code_wins():
    assert combined([0, 0]) == 0
    assert combined([0, 3]) == 3
    assert combined([3, 130, 0]) == 130
    assert combined([3, 2]) == 2
    assert combined([-9, 0]) == 1


def test_bad_worker_counts_are_one_line(tmp_path):
    spec = write(tmp_path / "s.yaml", f"name: s\ndataset: {{source: sample}}\nmodel: {TINY}\n")
    one = call_main("run", spec, "--workers", "1", "--out", tmp_path / "out")
    assert one.returncode == 2 and one.stderr.count("\n") == 1 and "give 2 or more" in one.stderr
    mismatch = call_main("run", spec, "--workers", "3", "--devices", "0,1", "--out", tmp_path / "out")
    assert mismatch.returncode == 2 and "one worker per device" in mismatch.stderr
    chief = call_main("run", spec, "--workers", "2", "--chief", "--port", "0", "--out", tmp_path / "out")
    assert chief.returncode == 2 and "does not go with --chief" in chief.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_two_workers_share_a_sweep_each_trial_once(tmp_path):
    spec = write(tmp_path / "shared.yaml", f"""
name: shared
dataset: {{source: sample}}
model: {TINY}
training: {{epochs: 1, batch_size: 32}}
seeds: 3
""")
    result = run_cli("run", spec, "--workers", "2", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "[worker 0] " in result.stdout and "[worker 1] " in result.stdout
    records = [r for _, r in iter_records(tmp_path / "out")]
    assert len(records) == 3 and len({r["trial_id"] for r in records}) == 3
    assert result.stdout.count(": training 1 epoch") == 3  # no trial trained twice
    cores = len(os.sched_getaffinity(0))
    assert {r["environment"]["device"]["count"] for r in records} == {max(1, cores // 2)}


@pytest.mark.slow
def test_two_workers_share_a_search_through_a_chief_and_each_hyperband_round_trains_as_one_program(tmp_path):
    """Hyperband (3 epochs, factor 3) through a chief on loopback to two JAX workers, up to 3 trials together:
    bracket 1's first round (3 trials, 1 epoch) goes out as one work item and trains as one program; bracket
    0's two trials, proposed while that round trains, as another; the trial continued from the first round's
    best trains alone. Six records, each trial trained once."""
    spec = write(tmp_path / "searched.yaml", f"""
name: searched
dataset: {{source: sample}}
model: {TINY}
training: {{epochs: 1, batch_size: 32, loop: device, together: 3}}
search:
  strategy: hyperband
  hyperband: {{max_epochs: 3, factor: 3}}
  space:
    training.optimizer.learning_rate: {{type: float, min: 1.0e-3, max: 1.0e-2, step: 10, sampling: log}}
    model.params.dropout: {{type: choice, values: [0.0, 0.1, 0.2, 0.3]}}
""")
    result = run_cli("run", spec, "--workers", "2", "--out", tmp_path / "out", env={"KERAS_BACKEND": "jax"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "[chief] " in result.stdout and "[worker 0] " in result.stdout and "[worker 1] " in result.stdout
    assert "searched hyperband #1, #2, #3" in result.stdout, result.stdout  # one work item, three proposals
    records = [r for _, r in iter_records(tmp_path / "out")]
    assert len(records) == 6 and all(r["status"] == "complete" for r in records)
    assert result.stdout.count(": training ") == 6  # no trial trained twice
    groups = {}
    for r in records:
        rung = r["search"]["rung"]
        groups.setdefault(r.get("group", {}).get("id"), set()).add((rung["bracket"], rung["round"]))
    assert sorted((len(rounds), sorted(rounds)) for rounds in groups.values()) == [
        (1, [(0, 0)]), (1, [(1, 0)]), (1, [(1, 1)])]
    sizes = sorted(r.get("group", {}).get("size", 1) for r in records)
    assert sizes == [1, 2, 2, 3, 3, 3], sizes
