"""Ctrl-C mid-epoch: a clean stop, one line, exit 130, nothing half-written, and a clean resume."""

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO

from fer_bench.records import iter_records


@pytest.mark.slow
def test_ctrl_c_mid_epoch_stops_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "FER_BENCH_FAULT"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fer_bench", "run", "benchmark/smoke.yaml", "--out", str(tmp_path), "--epochs", "50"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell starts background jobs with SIGINT ignored, and Python then never installs its
        # Ctrl-C handler: give the child the default disposition, as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    for line in proc.stdout:
        if "epoch 2/50" in line or time.time() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert lines == ["interrupted: every finished trial is recorded; run the same command again to continue"]
    assert not list(iter_records(tmp_path)) and not list(tmp_path.rglob("*.tmp"))
    assert not list(tmp_path.rglob("error.log"))
