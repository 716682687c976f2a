"""The prepared GPU check runs end to end on a CPU under the JAX backend, on the bundled sample."""

import importlib.util
import json
import os
import subprocess
import sys
import tarfile

import pytest
from conftest import REPO


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None and os.environ.get("CI") != "true",
                    reason="JAX is not installed (tox installs it)")
def test_gpu_check_script_tiny_on_cpu(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path / "out"),
           "GPU_RESULTS": str(tmp_path / "results"), "FER_BENCH_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(["bash", "scripts/gpu_check.sh", "tiny"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "== baseline exit 0" in result.stdout and "== filters exit 0" in result.stdout
    with tarfile.open(tmp_path / "out" / "results.tar.gz") as tar:
        names = [n for n in tar.getnames() if n.endswith("record.json")]
        records = [json.load(tar.extractfile(n)) for n in names]
    assert len(records) == 1 + 3 + 7
    assert {r["environment"]["backend"] for r in records} == {"jax"}
    assert all(r["status"] == "complete" and r["overrides"]["epochs"] == 1 for r in records)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None and os.environ.get("CI") != "true",
                    reason="JAX is not installed (tox installs it)")
def test_gpu_recipe_script_tiny_on_cpu(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path / "out"),
           "GPU_RESULTS": str(tmp_path / "results"), "FER_BENCH_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(["bash", "scripts/gpu_sota.sh", "tiny"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "== time_to_accuracy exit" in result.stdout and "== sota exit 0" in result.stdout
    with tarfile.open(tmp_path / "out" / "results.tar.gz") as tar:
        names = tar.getnames()
        records = {json.load(tar.extractfile(n))["spec"]: json.load(tar.extractfile(n))
                   for n in names if n.endswith("record.json")}
    assert "./report.html" in names
    assert set(records) == {"time_to_accuracy", "sota"}
    assert {r["environment"]["backend"] for r in records.values()} == {"jax"}
    sota = records["sota"]
    assert sota["status"] == "complete" and sota["tta"]["views"] == 10 and sota["data"]["protocol"] == "full-train"
    assert sota["config"]["training"]["budget_s"] == 20 and "time_to_target" in records["time_to_accuracy"]
