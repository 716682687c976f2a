"""The prepared GPU scripts run end to end on a CPU under the JAX backend, on the bundled sample."""

import importlib.util
import json
import os
import subprocess
import sys
import tarfile

import pytest
from conftest import REPO

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None and os.environ.get("CI") != "true",
                               reason="JAX is not installed (tox installs it)")


def run_tiny(script: str, tmp_path) -> tuple[str, list[str], list[dict]]:
    """`bash scripts/SCRIPT tiny`: its stdout, the names in its results archive, and the records there."""
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path / "out"),
           "GPU_RESULTS": str(tmp_path / "results"), "FER_BENCH_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(["bash", f"scripts/{script}", "tiny"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with tarfile.open(tmp_path / "out" / "results.tar.gz") as tar:
        names = tar.getnames()
        records = [json.load(tar.extractfile(n)) for n in names if n.endswith("record.json")]
    assert {r["environment"]["backend"] for r in records} == {"jax"}
    return result.stdout, names, records


@pytest.mark.slow
@needs_jax
def test_gpu_check_script_tiny_on_cpu(tmp_path):
    stdout, _, records = run_tiny("gpu_check.sh", tmp_path)
    assert "== baseline exit 0" in stdout and "== throughput exit 0" in stdout and "== filters exit 0" in stdout
    assert len(records) == 1 + 8 + 7
    assert all(r["status"] == "complete" and r["overrides"]["epochs"] == 1 for r in records)
    speed = [r for r in records if r["spec"] == "throughput"]
    assert {r["compilation"]["steps_per_execution"] for r in speed} == {1, 16}
    assert all(r["compilation"]["compiler"] == "XLA" for r in records)


@pytest.mark.slow
@needs_jax
def test_gpu_recipe_script_tiny_on_cpu(tmp_path):
    stdout, names, found = run_tiny("gpu_sota.sh", tmp_path)
    assert "== time_to_accuracy exit" in stdout and "== sota exit 0" in stdout
    assert "./report.html" in names
    records = {r["spec"]: r for r in found}
    assert set(records) == {"time_to_accuracy", "sota"}
    sota = records["sota"]
    assert sota["status"] == "complete" and sota["tta"]["views"] == 10 and sota["data"]["protocol"] == "full-train"
    assert sota["config"]["training"]["budget_s"] == 20 and "time_to_target" in records["time_to_accuracy"]
