"""A chief and workers as separate processes on loopback, over Keras Tuner's gRPC protocol."""

import os
import socket
import subprocess
import sys

import pytest
from conftest import REPO, SEARCH_SPEC, write

from fer_bench.records import iter_records

SWEEP = """
name: sweep
dataset: {source: sample}
model: {params: {conv_filters: [8, 16], conv_kernels: [3, 3], dense_units: [16]}}
training: {epochs: 1, batch_size: 32, gradient_stats: false}
seeds: 1
sweep: {grid: {model.params.dropout: [0.0, 0.2, 0.4]}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp_path, name: str, *args, env=None) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if k != "FER_BENCH_FAULT"}
    full_env.update(env or {})
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed when the process is reaped
    return subprocess.Popen([sys.executable, "-m", "fer_bench", "run", *map(str, args)], cwd=REPO, env=full_env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen, timeout=600) -> int:
    code = process.wait(timeout=timeout)
    process.stdout and process.stdout.close()
    return code


def log(tmp_path, name: str) -> str:
    return (tmp_path / f"{name}.log").read_text()


def specs(tmp_path, hyperband=False):
    """A search (grid and random; or Hyperband, whose later rounds wait for the scores of trials another
    worker is training) and a sweep."""
    search = SEARCH_SPEC.format(strategy="[grid, random]", max_trials=4)
    if hyperband:
        search = search.replace("[grid, random]", "hyperband").replace("[0.0, 0.3]", "[0.0, 0.1, 0.2]")
        search = search.replace("  bayesian: {initial_points: 2}", "  hyperband: {max_epochs: 3, factor: 3}")
    return write(tmp_path / "s.yaml", search), write(tmp_path / "sweep.yaml", SWEEP)


def worker_of(record: dict) -> str:
    command = record["command"]
    return command[command.index("--worker-id") + 1]


@pytest.mark.slow
def test_a_chief_and_two_workers_share_a_search_and_a_sweep(tmp_path):
    search, sweep = specs(tmp_path, hyperband=True)
    out, port = tmp_path / "out", free_port()
    chief = start(tmp_path, "chief", search, sweep, "--out", out, "--chief", "--host", "127.0.0.1", "--port", port)
    workers = [start(tmp_path, name, search, sweep, "--out", out, "--worker", "--chief-address", f"127.0.0.1:{port}",
                     "--worker-id", name) for name in ("w1", "w2")]
    assert [finish(w) for w in workers] == [0, 0], log(tmp_path, "w1")[-2000:] + log(tmp_path, "w2")[-2000:]
    assert finish(chief, timeout=60) == 0, log(tmp_path, "chief")[-3000:]
    records = [r for _, r in iter_records(out)]
    assert len(records) == 6 + 3 and all(r["status"] == "complete" for r in records)
    assert len({r["trial_id"] for r in records}) == 9
    hyperband = {r["search"]["trial_number"]: r for r in records if r.get("search", {}).get("strategy") == "hyperband"}
    continued = [r for r in hyperband.values() if r["search"]["rung"]["continued_from"]]
    assert len(continued) == 1 and [h["epoch"] for h in continued[0]["history"]] == [2, 3]
    assert continued[0]["search"]["rung"]["continued_from"] == hyperband[continued[0]["search"]["rung"]["continues"]][
        "trial_id"]
    per_worker = {name: sum(1 for r in records if worker_of(r) == name) for name in ("w1", "w2")}
    assert per_worker["w1"] >= 1 and per_worker["w2"] >= 1, per_worker
    trained = {name: log(tmp_path, name).count(": training ") for name in ("w1", "w2")}
    assert trained == per_worker  # every trial trained exactly once, by the worker its record names
    assert ": training " not in log(tmp_path, "chief")
    assert "the chief trained none" in log(tmp_path, "chief")
    assert "\n  hyperband       6        0" in log(tmp_path, "chief")


@pytest.mark.slow
def test_a_worker_killed_mid_trial_loses_no_record_and_its_trial_is_done_again(tmp_path):
    search, sweep = specs(tmp_path)
    out, port = tmp_path / "out", free_port()
    chief = start(tmp_path, "chief", search, "--out", out, "--chief", "--host", "127.0.0.1", "--port", port,
                  "--lease", 5)
    address = ["--chief-address", f"127.0.0.1:{port}"]
    doomed = start(tmp_path, "doomed", search, "--out", out, "--worker", *address, "--worker-id", "doomed",
                   env={"FER_BENCH_FAULT": "kill@mid_epoch"})
    assert finish(doomed) == -9, log(tmp_path, "doomed")[-2000:]
    survivor = start(tmp_path, "survivor", search, "--out", out, "--worker", *address, "--worker-id", "survivor")
    assert finish(survivor) == 0, log(tmp_path, "survivor")[-3000:]
    assert finish(chief, timeout=60) == 0, log(tmp_path, "chief")[-3000:]
    assert "doomed silent for over 5s; trial 00000 goes back to the queue" in log(tmp_path, "chief")
    records = [r for _, r in iter_records(out)]
    assert len(records) == 8 and all(r["status"] == "complete" and worker_of(r) == "survivor" for r in records)
    assert log(tmp_path, "survivor").count(": training ") == 8
