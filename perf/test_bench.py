"""pytest-benchmark suite (`tox -e bench`): data loading, spec expansion, training and inference
speed, peak memory of a trial, report rendering. Numbers, not assertions: see README for the table."""

import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from models import MODELS, bench_model

from fer_bench.data.source import load_data
from fer_bench.data.splits import study_splits
from fer_bench.spec.load import load_spec, shipped_specs
from fer_bench.spec.trials import Overrides, expand

REPO = Path(__file__).resolve().parent.parent
TRAIN_IMAGES = 1024
BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def test_data_load_cold(benchmark, real_data, tmp_path, monkeypatch):
    caches = iter(range(100))

    def fresh_cache():
        monkeypatch.setenv("FER_BENCH_CACHE", str(tmp_path / f"cache{next(caches)}"))

    data = benchmark.pedantic(load_data, args=(real_data,), setup=fresh_cache, rounds=3)
    assert not data.from_cache


def test_data_load_warm(benchmark, real_data, tmp_path, monkeypatch):
    monkeypatch.setenv("FER_BENCH_CACHE", str(tmp_path / "cache"))
    load_data(real_data)
    data = benchmark(load_data, real_data)
    assert data.from_cache


def test_spec_expansion_all_shipped(benchmark):
    specs = list(shipped_specs().values())
    trials = benchmark(lambda: [t for p in specs for t in expand(load_spec(p), Overrides())])
    benchmark.extra_info["trials"] = len(trials)


_model = bench_model


@pytest.fixture(scope="module")
def images(real_data):
    data = load_data(real_data)
    split = study_splits(data, 1302, max_train_samples=TRAIN_IMAGES)["train"]
    return split.x(data), np.eye(7, dtype=np.float32)[split.y(data)]


@pytest.mark.parametrize("name", list(MODELS))
def test_train_one_epoch(benchmark, images, name):
    import keras

    x, y = images
    model = _model(name)
    model.fit(x[:128], y[:128], batch_size=64, epochs=1, verbose=0)  # compile outside the timing
    benchmark.pedantic(lambda: model.fit(x, y, batch_size=64, epochs=1, verbose=0), rounds=3)
    benchmark.extra_info.update(images=len(x), backend=keras.backend.backend(),
                                images_per_s=round(len(x) / benchmark.stats.stats.median, 1))


# The spec's speed options (training.jit_compile, steps_per_execution, batch_size), one at a time.
OPTIONS = {"default": ({}, 64), "xla": ({"jit_compile": True}, 64), "steps_per_execution_16":
           ({"steps_per_execution": 16}, 64), "batch_256": ({}, 256)}


@pytest.mark.parametrize("option", list(OPTIONS))
def test_train_one_epoch_options(benchmark, images, option):
    import keras

    compile_options, batch = OPTIONS[option]
    x, y = images
    model = _model("small_cnn", **compile_options)
    model.fit(x[:2 * batch], y[:2 * batch], batch_size=batch, epochs=1, verbose=0)  # compile outside the timing
    benchmark.pedantic(lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0), rounds=3)
    benchmark.extra_info.update(images=len(x), backend=keras.backend.backend(), batch_size=batch,
                                jit_compile=bool(model.jit_compile),
                                images_per_s=round(len(x) / benchmark.stats.stats.median, 1))


@pytest.mark.parametrize("backend", list(BACKEND_MODULES))
def test_train_one_epoch_per_backend(benchmark, real_data, backend):
    """The small CNN's training throughput under each installed Keras backend, one process each; the
    timing is the whole child process (start-up included), images_per_s the median of 3 epochs."""
    if importlib.util.find_spec(BACKEND_MODULES[backend]) is None:
        pytest.skip(f"{backend} is not installed")
    found = {}

    def run():
        env = {**os.environ, "KERAS_BACKEND": backend, "FER_BENCH_DATA": str(real_data)}
        out = subprocess.run([sys.executable, str(REPO / "perf" / "backend_epoch.py"), "small_cnn", str(TRAIN_IMAGES),
                              "3"], cwd=REPO, env=env, check=True, capture_output=True, text=True)
        found.update(json.loads(out.stdout.strip().splitlines()[-1]))

    benchmark.pedantic(run, rounds=1)
    benchmark.extra_info.update(backend=found["backend"], images=found["images"], images_per_s=found["images_per_s"])


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_precision_auto_against_float32(benchmark, real_data, backend):
    """training.mixed_precision: auto against float32 (perf/precision.py, one pair of child processes
    per model): the ratios of images/s, bfloat16's and auto's (1.0 where auto keeps float32)."""
    if importlib.util.find_spec(BACKEND_MODULES[backend]) is None:
        pytest.skip(f"{backend} is not installed")
    found = []

    def run():
        env = {**os.environ, "FER_BENCH_DATA": str(real_data)}
        out = subprocess.run([sys.executable, str(REPO / "perf" / "precision.py"), "--pairs", "1", "--images",
                              str(TRAIN_IMAGES), "--backends", backend], cwd=REPO, env=env, check=True,
                             capture_output=True, text=True)
        found.extend(json.loads(out.stdout.strip().splitlines()[-1]))

    benchmark.pedantic(run, rounds=1)
    for row in found:
        benchmark.extra_info[f"{row['model']}_auto"] = row["auto"]
        benchmark.extra_info[f"{row['model']}_auto_over_float32"] = row["auto_ratio"][0]
        benchmark.extra_info[f"{row['model']}_bfloat16_over_float32"] = row["bfloat16_ratio"][0]


def test_device_loop_against_fit(benchmark, real_data):
    """The device loop against fit() under JAX (perf/device_loop.py, one child process): the small CNN,
    batch 64, 3 alternating rounds of one epoch each; the timing is the whole child process."""
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed")
    found = {}

    def run():
        env = {**os.environ, "KERAS_BACKEND": "jax", "FER_BENCH_DATA": str(real_data)}
        out = subprocess.run([sys.executable, str(REPO / "perf" / "device_loop.py"), "small_cnn", str(TRAIN_IMAGES),
                              "3"], cwd=REPO, env=env, check=True, capture_output=True, text=True)
        found.update(json.loads(out.stdout.strip().splitlines()[-1]))

    benchmark.pedantic(run, rounds=1)
    benchmark.extra_info.update(images=found["images"], fit_images_per_s=found["images_per_s"]["fit"],
                                device_images_per_s=found["images_per_s"]["device"],
                                ratio_device_over_fit=found["ratio_device_over_fit"],
                                device_compile_s=found["compile_s"]["device"])


@pytest.mark.parametrize("name", list(MODELS))
def test_inference_batch_256(benchmark, images, name):
    x, _ = images
    model = _model(name)
    model.predict(x[:256], batch_size=256, verbose=0)
    benchmark.pedantic(lambda: model.predict(x, batch_size=256, verbose=0), rounds=3)
    benchmark.extra_info["images_per_s"] = round(len(x) / benchmark.stats.stats.median, 1)


@pytest.mark.parametrize("name", list(MODELS))
def test_inference_latency_one_image(benchmark, images, name):
    x, _ = images
    model = _model(name)
    model.predict_on_batch(x[:1])
    benchmark(lambda: model.predict_on_batch(x[:1]))
    benchmark.extra_info["ms_per_image"] = round(1000 * benchmark.stats.stats.median, 3)


def test_trial_peak_rss(benchmark, tmp_path):
    """Peak resident memory of a whole `fer-bench run` of the smoke spec (a child process)."""
    runs = iter(range(100))

    def run():
        started = time.time()
        subprocess.run([sys.executable, "-m", "fer_bench", "run", "benchmark/smoke.yaml", "--out",
                        str(tmp_path / f"r{next(runs)}"), "--quiet"], cwd=REPO, check=True, capture_output=True)
        return time.time() - started

    benchmark.pedantic(run, rounds=1)
    benchmark.extra_info["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def test_report_200_records(benchmark, tmp_path):
    reference = REPO / "results" / "reference" / "cpu-small-cnn"
    sources = [json.loads(p.read_text()) for p in sorted(reference.rglob("record.json"))]
    for i in range(200):
        record = dict(sources[i % len(sources)], seed=1000 + i)
        record["trial_id"] = f"{record['variant']}_s{record['seed']}_{i:08x}"
        target = tmp_path / "results" / record["spec"] / record["trial_id"] / "record.json"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(record))
    from fer_bench.report.render import render_report

    benchmark.pedantic(lambda: render_report([tmp_path / "results"], tmp_path / "report.html"), rounds=2)
