"""What every generated input must get, how many of them a run tries, and the scratch folder they share.

The property, for every command: exit 0 or a documented code, a short stderr (a warning for each
thing skipped, at most two other lines; a user mistake ends in one `error:` line), never a Python
traceback, and an answer long before anything that looks like a hang.
CI runs a fixed, derandomized set of examples; FER_BENCH_FUZZ_SCALE=N multiplies every count and
draws new ones (the long local run: `FER_BENCH_FUZZ_SCALE=50 pytest tests/fuzz
--hypothesis-show-statistics`).
"""

import os
import subprocess
import time
from pathlib import Path

from conftest import call_main, write
from hypothesis import HealthCheck, settings

SCALE = int(os.environ.get("FER_BENCH_FUZZ_SCALE", "1"))
# README's exit codes: done, results not written, a user mistake, trials that failed, a lost chief,
# a regression found by compare, interrupted.
EXIT_CODES = (0, 1, 2, 3, 4, 5, 130)
# Not a speed target: a command that takes this long on a tiny input is stuck (an exponential walk,
# a wait on nothing), and the failure names the input.
HANG_S = 60
TINY = """name: ok
dataset: {source: sample}
model: {params: {conv_filters: [8, 16], conv_kernels: [3, 3], dense_units: [16]}}
training: {epochs: 1, batch_size: 32, gradient_stats: false}
seeds: 1
"""


def examples(n: int):
    return settings(max_examples=n * SCALE, derandomize=SCALE == 1, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def answered(*args, cwd, env=None) -> subprocess.CompletedProcess:
    """`fer-bench ARGS` in this process, checked against the property."""
    began = time.monotonic()
    result = call_main(*args, cwd=cwd, env=env)
    elapsed = time.monotonic() - began
    where = f"fer-bench {' '.join(map(str, args))[:300]} -> {result.returncode}\n{result.stderr[-1500:]}"
    assert result.returncode in EXIT_CODES, where
    assert "Traceback" not in result.stderr, where
    lines = result.stderr.strip().splitlines()
    answer = [line for line in lines if not line.startswith("warning: ")]  # a warning per thing skipped
    assert len(answer) <= 2, where
    if result.returncode == 2:
        assert answer == lines[-1:] and answer[0].startswith("error: "), where
    assert elapsed < HANG_S, f"{elapsed:.0f} s: {where}"
    return result


def scratch_folder(root: Path) -> Path:
    """A spec, a results folder with one complete record of it, and files that are not what a flag wants;
    made once under `root` (the fuzzers copy it before they damage or run anything)."""
    if (root / "results").exists():
        return root
    write(root / "ok.yaml", TINY)
    write(root / "bad.yaml", "name: bad\ntraining: {epochs: -1}\n")
    write(root / "file.txt", "not a folder\n")
    write(root / "model.keras", "not a model\n")
    write(root / "data.csv", "emotion,pixels,Usage\n0,1 2 3,Training\n")
    (root / "empty").mkdir()
    result = call_main("run", "ok.yaml", "--out", "results", "--quiet", cwd=root)
    assert result.returncode == 0, result.stderr
    return root
