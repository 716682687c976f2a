import contextlib
import io
import os
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "fer_bench" / "sample" / "fer2013-sample.csv.gz"
# A small search on the sample (str.format: strategy, max_trials), for the search and distributed tests.
SEARCH_SPEC = """
name: s
dataset: {{source: sample}}
model: {{params: {{conv_filters: [8, 16], conv_kernels: [3, 3], dense_units: [16]}}}}
training: {{epochs: 1, batch_size: 32, gradient_stats: false}}
search:
  strategy: {strategy}
  max_trials: {max_trials}
  bayesian: {{initial_points: 2}}
  space:
    training.optimizer.learning_rate: {{type: float, min: 1.0e-3, max: 1.0e-2, step: 10, sampling: log}}
    model.params.dropout: {{type: choice, values: [0.0, 0.3]}}
"""


# Session fixtures that train: the tests reading one run on the same worker, so it trains once.
TRAINED_FIXTURES = ("smoke_results", "kept_best", "whole_search")


# Three to eight minutes each on the 2-core machine (with the GPU scripts): started first, or the suite
# ends waiting on one of them.
LONGEST = ("test_device_loop_matches_fit_within_noise", "test_small_cnn_learns_on_the_full_train_split",
           "test_a_narrow_vgg_learns_on_real_data")


@pytest.hookimpl(wrapper=True)  # before pytest-xdist's own hook turns the groups into its node ids
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist: keep the tests that share state together, and start the longest tests
    first (the GPU scripts, the device loop against fit() and the learning tests, then the rest on real
    data, then the other slow ones), so that the workers end together instead of one finishing a 5-minute test alone."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return (yield)
    for item in items:
        shared = [name for name in TRAINED_FIXTURES if name in item.fixturenames]
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared[0]))
        elif item.path.name == "test_bad_inputs.py":  # its docs table test reads every case's answer
            item.add_marker(pytest.mark.xdist_group("bad_inputs"))
        elif item.path.name == "test_gpu_script.py":  # the second script's programs: from the XLA cache
            item.add_marker(pytest.mark.xdist_group("gpu_scripts"))
        elif item.path.name == "test_report_order.py":  # its module's reports, rendered once (15-22 s)
            item.add_marker(pytest.mark.xdist_group("report_order"))

    def longest_first(item) -> int:
        if item.name in LONGEST or item.path.name == "test_gpu_script.py":
            return 0
        if item.get_closest_marker("real_data") or "real_data" in item.fixturenames:
            return 1
        return 2 if item.get_closest_marker("slow") else 3

    items.sort(key=longest_first)
    return (yield)


@pytest.fixture(autouse=True)
def _seeded():
    np.random.seed(0)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Tests share one data cache of their own; KERAS_HOME keeps Keras out of ~/.keras.

    The JAX processes of the session (device loop, GPU scripts, gradients) share one persistent XLA
    compilation cache: the tests build the same few models again and again, and on this CPU a compile
    takes 17 s where a cached one takes 1 s. What is measured stays the same: compile_s is still
    recorded, only shorter."""
    # One for all pytest-xdist workers too: the full data is parsed once, each model compiled once.
    root = tmp_path_factory.getbasetemp()
    cache = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "cache"
    cache.mkdir(exist_ok=True)
    names = ("FER_BENCH_CACHE", "KERAS_HOME", "JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS")
    old = {k: os.environ.get(k) for k in names}
    os.environ["FER_BENCH_CACHE"] = str(cache)
    os.environ["KERAS_HOME"] = str(cache / "keras")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(cache / "xla")
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    yield cache
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The full FER-2013 file from $FER_BENCH_DATA; missing data fails under CI, else skips."""
    value = os.environ.get("FER_BENCH_DATA")
    path = Path(value) if value else None
    if path is None or not path.exists():
        message = f"full FER-2013 not found (FER_BENCH_DATA={value!r})"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": CI must export it (see .ci/run)")
        pytest.skip(message)
    return path


def run_cli(*args, env=None, cwd=REPO, timeout=900) -> subprocess.CompletedProcess:
    """`python -m fer_bench ARGS` in a fresh process, as a user runs it."""
    full_env = {k: v for k, v in os.environ.items() if k != "FER_BENCH_FAULT"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "fer_bench", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


# The warning filters a fresh interpreter starts with (no -W, no PYTHONWARNINGS): what a user of the command sees.
_INTERPRETER_WARNING_FILTERS = (("default", DeprecationWarning, "__main__"), ("ignore", DeprecationWarning, None),
                                ("ignore", PendingDeprecationWarning, None), ("ignore", ImportWarning, None),
                                ("ignore", ResourceWarning, None))


def call_main(*args, env=None, cwd=REPO) -> subprocess.CompletedProcess:
    """`fer-bench ARGS` through `main([...])` in this process, for tests that are not about a process.

    Same answer as run_cli (exit code, stdout, stderr; an escaped exception prints its traceback and
    exits 1, as the interpreter would) without paying a fresh interpreter's TensorFlow import each time.
    What it cannot see: the native stderr of TensorFlow and XLA, which run_cli's tests keep checking.
    """
    from fer_bench.cli import main
    from fer_bench.faults import ENV_VAR
    from fer_bench.training.backend import filter_native_stderr

    changes = {ENV_VAR: None, **(env or {})}
    assert not str(changes[ENV_VAR] or "").startswith("kill"), "a kill ends the process: use run_cli"
    assert "KERAS_BACKEND" not in changes, "Keras binds its backend once per process: use run_cli"
    filter_native_stderr.installed = True  # leave this process's file descriptor 2 to pytest
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    stdout, stderr = io.StringIO(), io.StringIO()
    for key, value in changes.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = str(value)
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
                warnings.catch_warnings():
            warnings.resetwarnings()
            for action, category, module in reversed(_INTERPRETER_WARNING_FILTERS):
                warnings.filterwarnings(action, category=category, module=module or "")
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except Exception:
                traceback.print_exc()
                code = 1
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["fer-bench", *map(str, args)], code, stdout.getvalue(), stderr.getvalue())


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def one_epoch_spec(path: Path) -> Path:
    """The least spec that trains, named after its file: one 8-filter convolution, one epoch, one seed,
    no gradient statistics, on the bundled sample."""
    return write(path, f"""
name: {path.stem}
dataset: {{source: sample}}
model: {{params: {{conv_filters: [8], conv_kernels: [3], dense_units: []}}}}
training: {{epochs: 1, gradient_stats: false}}
seeds: 1
""")


@pytest.fixture(scope="session")
def smoke_results(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`fer-bench run benchmark/smoke.yaml --seeds 2` as a user runs it, trained once for every test that
    reads records (the run's own checks, report, browser, export): its results folder and its process.
    Read it, never write into it: a test that alters records works on a copy."""
    out = tmp_path_factory.mktemp("smoke-results")
    return out, run_cli("run", REPO / "benchmark/smoke.yaml", "--seeds", "2", "--out", out)


@pytest.fixture(scope="session")
def kept_best(tmp_path_factory) -> tuple[Path, dict]:
    """A tiny CNN trained 2 epochs on the sample with keep_best_weights: its results folder and record,
    for the tests of the saved model (keep-best, evaluate, honest scores)."""
    import json

    root = tmp_path_factory.mktemp("keep-best")
    spec = write(root / "keep.yaml", """
name: keep
dataset: {source: sample}
model: {params: {conv_filters: [8, 16], conv_kernels: [3, 3], dense_units: [16]}}
training: {epochs: 2, keep_best_weights: true}
seeds: 1
""")
    result = call_main("run", spec, "--out", root / "out")
    assert result.returncode == 0, result.stderr
    (path,) = (root / "out" / "keep").glob("*/record.json")
    return root / "out", json.loads(path.read_text())


def load_best_model(out: Path, record: dict):
    import keras

    return keras.models.load_model(out / "keep" / record["trial_id"] / record["best_weights_file"])
