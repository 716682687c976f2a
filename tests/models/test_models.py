import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from fer_bench.models import BUILDERS  # noqa: E402
from fer_bench.models.cnn import CNNParams, build_cnn, cnn_cost  # noqa: E402


def test_default_cnn_is_the_studys_model():
    cost = cnn_cost(CNNParams())
    assert (cost.parameters, cost.trainable_parameters) == (4_478_727, 4_474_759)
    assert cost.macs == 290_475_520
    model = build_cnn(CNNParams())
    assert model.count_params() == 4_478_727
    assert sum(int(w.numpy().size) for w in model.trainable_weights) == 4_474_759


@pytest.mark.parametrize("params", [
    {"conv_filters": [64, 128, 512], "conv_kernels": [3, 5, 3]},
    {"conv_filters": [32, 64, 128], "conv_kernels": [3, 3, 3], "dense_units": [128], "batch_norm": False},
    {"conv_filters": [16, 32], "conv_kernels": [5, 3], "padding": "valid", "dense_units": []},
    {"conv_filters": [64, 128, 1028, 512], "pooling": "average", "activation": "elu"},
])
def test_analytic_size_matches_keras(params):
    p = CNNParams(**params)
    assert cnn_cost(p).parameters == build_cnn(p).count_params()


def test_builders_are_registered_by_name():
    assert BUILDERS["cnn"].params_model is CNNParams
