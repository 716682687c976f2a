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
    archive = tmp_path / "out" / "results.tar.gz"
    assert archive.stat().st_size < 16 * 2**20  # what comes back from the GPU machine: 16 MiB a file
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        records = [json.load(tar.extractfile(n)) for n in names if n.endswith("record.json")]
    assert not [n for n in names if n.endswith(".keras")]  # saved models stay on the machine
    assert {r["environment"]["backend"] for r in records} == {"jax"}
    return result.stdout, names, records


@pytest.mark.slow
@needs_jax
def test_gpu_campaign_tiny_on_cpu(tmp_path):
    """Every stage of scripts/gpu_check.sh, in order, one epoch on the sample: the device loop against
    fit(), the families and the search on the device loop, the filters on fit(), the recipe's two."""
    stdout, names, records = run_tiny("gpu_check.sh", tmp_path)
    stages = ("speed", "families", "filters", "search", "time_to_accuracy", "sota")
    for stage in stages:
        assert f"== {stage} exit 0" in stdout, stdout[-3000:]
    assert [stdout.index(f"== {stage} (") for stage in stages] == sorted(stdout.index(f"== {s} (") for s in stages)
    assert "./report.html" in names
    by_spec = {}
    for r in records:
        by_spec.setdefault(r["spec"], []).append(r)
    assert all(r["status"] == "complete" and r["overrides"]["epochs"] == 1 for r in records)
    speed = by_spec.pop("device_loop")
    assert len(speed) == 2 and {r["compilation"]["loop"] for r in speed} == {"fit", "device"}
    assert all(r["compilation"]["compile_s"] > 0 for r in speed if r["compilation"]["loop"] == "device")
    assert {r["compilation"]["loop"] for r in by_spec.pop("filters")} == {"fit"}
    assert {name: len(rs) for name, rs in by_spec.items() if name != "search_cpu"} == {
        "baseline": 1, "loss": 2, "time_to_accuracy": 1, "sota": 1}
    assert all(r["compilation"]["loop"] == "device" for rs in by_spec.values() for r in rs)
    assert {r["search"]["strategy"] for r in by_spec["search_cpu"]} == {"grid", "random", "bayesian"}


@pytest.mark.slow
@needs_jax
def test_gpu_recipe_script_tiny_on_cpu(tmp_path):
    stdout, names, found = run_tiny("gpu_sota.sh", tmp_path)
    assert "== time_to_accuracy exit" in stdout and "== sota exit 0" in stdout
    assert "./report.html" in names
    records = {r["spec"]: r for r in found}
    assert set(records) == {"time_to_accuracy", "sota"}
    assert all(r["compilation"]["loop"] == "device" for r in found)
    sota = records["sota"]
    assert sota["status"] == "complete" and sota["tta"]["views"] == 10 and sota["data"]["protocol"] == "full-train"
    assert sota["config"]["training"]["budget_s"] == 20 and "time_to_target" in records["time_to_accuracy"]
