"""Seeding a trial: what keras.utils.set_random_seed seeds, without TensorFlow in a JAX process."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

DRAWS = """
import json, random, sys
import keras, numpy
from fer_bench.training.backend import set_random_seed

def draws():
    return [random.random(), float(numpy.random.rand()), float(keras.ops.convert_to_numpy(keras.random.uniform(())))]

set_random_seed(7)
ours = draws()
tensorflow_imported = "tensorflow" in sys.modules
keras.utils.set_random_seed(7)
print(json.dumps({"ours": ours, "keras": draws(), "tensorflow_imported": tensorflow_imported}))
"""


@pytest.mark.slow
def test_seeding_a_jax_process_draws_as_keras_does_without_importing_tensorflow():
    pytest.importorskip("jax")
    pytest.importorskip("tensorflow")  # the import avoided is only there to avoid where it is installed
    result = subprocess.run([sys.executable, "-c", DRAWS], cwd=REPO, env={**os.environ, "KERAS_BACKEND": "jax"},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["ours"] == seen["keras"] and not seen["tensorflow_imported"], seen

