"""The prepared GPU scripts run end to end on a CPU under the JAX backend, on the bundled sample."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
from conftest import REPO

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None and os.environ.get("CI") != "true",
                               reason="JAX is not installed (tox installs it)")


def run_tiny(script: str, root, *stages: str) -> tuple[str, list[str], list[dict]]:
    """`bash scripts/SCRIPT tiny [STAGE...]` with its results in ROOT/results: its stdout, the names in
    its results archive, and the records there."""
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(root / "out"),
           "GPU_RESULTS": str(root / "results"), "FER_BENCH_CACHE": str(root / "cache")}
    result = subprocess.run(["bash", f"scripts/{script}", "tiny", *stages], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    archive = root / "out" / "results.tar.gz"
    assert archive.stat().st_size < 16 * 2**20  # what comes back from the GPU machine: 16 MiB a file
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        records = [json.load(tar.extractfile(n)) for n in names if n.endswith("record.json")]
    assert not [n for n in names if n.endswith(".keras")]  # saved models stay on the machine
    assert {r["environment"]["backend"] for r in records} == {"jax"}
    return result.stdout, names, records


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """scripts/gpu_check.sh tiny, every stage, run once: (its folder, stdout, archive names, records)."""
    root = tmp_path_factory.mktemp("campaign")
    return root, *run_tiny("gpu_check.sh", root)


@pytest.mark.slow
@needs_jax
def test_gpu_campaign_tiny_on_cpu(campaign):
    """Every stage of scripts/gpu_check.sh, in order, one epoch on the sample: the device loop against
    fit(), the families and the search on the device loop, the filters on fit(), the recipe's two."""
    _, stdout, names, records = campaign
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
    strategies = [r["search"]["strategy"] for r in by_spec["search_cpu"]]
    # --max-trials 3 (Bayesian's third after its 2 random initial points); Hyperband under --epochs 1 is one
    # bracket of one trial
    assert {s: strategies.count(s) for s in strategies} == {"grid": 3, "random": 3, "bayesian": 3, "hyperband": 1}
    sota = by_spec["sota"][0]
    assert sota["tta"]["views"] == 10 and sota["data"]["protocol"] == "full-train"
    assert sota["config"]["training"]["budget_s"] == 20 and "time_to_target" in by_spec["time_to_accuracy"][0]


@pytest.mark.slow
@needs_jax
def test_gpu_recipe_script_is_the_campaigns_last_two_stages(campaign, tmp_path):
    """scripts/gpu_sota.sh runs gpu_check.sh's recipe stages with the same arguments: on the campaign's
    two recipe folders it finds each trial recorded (same trial ids) and trains nothing; it packs them
    with a fresh report."""
    root, _, _, trained = campaign
    (tmp_path / "results").mkdir()
    for spec in ("time_to_accuracy", "sota"):
        shutil.copytree(root / "results" / spec, tmp_path / "results" / spec)
    stdout, names, found = run_tiny("gpu_sota.sh", tmp_path)
    assert "== time_to_accuracy exit 0" in stdout and "== sota exit 0" in stdout
    assert stdout.index("== time_to_accuracy (") < stdout.index("== sota (") and "== speed" not in stdout
    assert stdout.count("nothing to do") == 2 and ": training " not in stdout, stdout[-3000:]
    assert "./report.html" in names
    recipe = {r["trial_id"] for r in trained if r["spec"] in ("time_to_accuracy", "sota")}
    assert {r["trial_id"] for r in found} == recipe
