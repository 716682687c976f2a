"""What a model costs to run (fer_bench/training/running_cost.py), on a small real Keras model; the throughput
is the scoring's own pass, given here."""

import keras
import numpy as np
import pytest

from fer_bench.training.running_cost import LATENCY_CALLS, running_cost, saved_bytes


def trained_model():
    keras.utils.set_random_seed(0)
    # 148k weights (590 kB): Adam's moments would add 1.2 MB to the file
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(7, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((64, 48, 48, 1), dtype=np.float32)
    model.fit(x, np.arange(64) % 7, epochs=1, verbose=0)  # Adam now holds two moments per weight
    return model, x


def test_the_saved_size_is_the_weights_not_the_optimizer_state():
    model, _ = trained_model()
    size = saved_bytes(model)
    weights = model.count_params() * 4
    # float32 weights plus HDF5's overhead (a few kB); Adam's moments would add 2x weights
    assert weights < size < weights + 40_000
    model.fit(np.zeros((7, 48, 48, 1), np.float32), np.arange(7), verbose=0)  # the optimizer is back


def test_latency_and_throughput_are_measured_over_real_calls():
    model, x = trained_model()
    cost = running_cost(model, x, "cpu", (3589, 2.0), 256)
    latency = cost["latency_ms"]
    assert latency["calls"] == LATENCY_CALLS >= 100 and 0 < latency["median"] <= latency["p90"]
    assert cost["images_per_s"] == pytest.approx(1794.5) and cost["batch"] == 256 and cost["images"] == 3589
    assert cost["threads"] >= 1 and cost["device"] == "cpu"
    # a subset smaller than a batch was predicted as one batch of its size
    assert running_cost(model, x, "cpu", (35, 0.5), 256)["batch"] == 35
