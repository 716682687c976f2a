"""Two `fer-bench run` processes on one results directory: every trial trained once, none lost."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, call_main

from fer_bench.records import iter_records


@pytest.mark.slow
def test_two_processes_at_once_train_each_trial_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "FER_BENCH_FAULT"}
    command = [sys.executable, "-m", "fer_bench", "run", "benchmark/smoke.yaml", "--out", str(tmp_path),
               "--epochs", "3", "--seeds", "2"]
    procs = [subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outputs]
    stdout = "".join(o[0] for o in outputs)
    records = {r["trial_id"]: r for _, r in iter_records(tmp_path)}
    assert len(records) == 4 and all(r["status"] == "complete" for r in records.values())
    for trial_id in records:
        slug = trial_id.rsplit("_", 1)[0]
        assert stdout.count(f"] {slug}: training 3 epochs") == 1, slug
    assert not list(tmp_path.rglob(".claim")) and not list(tmp_path.rglob("*.tmp"))


@pytest.mark.slow
def test_a_dead_processs_claim_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    listing = call_main("list", "benchmark/smoke.yaml", "--seeds", "1", "--epochs", "1")
    trial_id = next(line.split()[0] for line in listing.stdout.splitlines() if "dropout-0_s0" in line)
    folder = tmp_path / "smoke" / trial_id
    folder.mkdir(parents=True)
    import platform

    (folder / ".claim").write_text(json.dumps({"pid": pid, "host": platform.node(), "since": 0}))
    result = call_main("run", "benchmark/smoke.yaml", "--out", tmp_path, "--seeds", "1", "--epochs", "1")
    assert result.returncode == 0, result.stderr
    assert "another fer-bench process" not in result.stdout
    assert len(list(iter_records(tmp_path))) == 2 and not (folder / ".claim").exists()
