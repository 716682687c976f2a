import os
import subprocess
import sys
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


@pytest.fixture(autouse=True)
def _seeded():
    np.random.seed(0)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Tests share one data cache of their own; KERAS_HOME keeps Keras out of ~/.keras."""
    cache = tmp_path_factory.mktemp("cache")
    old = {k: os.environ.get(k) for k in ("FER_BENCH_CACHE", "KERAS_HOME")}
    os.environ["FER_BENCH_CACHE"] = str(cache)
    os.environ["KERAS_HOME"] = str(cache / "keras")
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


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def train_and_keep_best(tmp_path: Path, epochs: int):
    """A tiny CNN trained on the sample with keep_best_weights: (its record, the saved Keras model)."""
    import json

    import keras

    spec = write(tmp_path / "keep.yaml", f"""
name: keep
dataset: {{source: sample}}
model: {{params: {{conv_filters: [8, 16], conv_kernels: [3, 3], dense_units: [16]}}}}
training: {{epochs: {epochs}, keep_best_weights: true}}
seeds: 1
""")
    result = run_cli("run", spec, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    (path,) = (tmp_path / "out" / "keep").glob("*/record.json")
    record = json.loads(path.read_text())
    return record, keras.models.load_model(path.parent / record["best_weights_file"])
