"""The reliability diagram's data: bins kept per record as sums pool over seeds into exactly the bins of
all their predictions, and a known calibration gives its known error."""

import numpy as np
import pytest

from fer_bench.report import reliability
from fer_bench.training.quality import expected_calibration_error, reliability_bins


def predictions(seed: int, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 7)) * 2
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(7, p=p / p.sum()) for p in probabilities])
    return probabilities, labels


def test_seeds_pool_into_the_bins_of_all_their_predictions():
    seeds = [predictions(seed) for seed in range(3)]
    records = [{"reliability": {"public_test": reliability_bins(p, y)}} for p, y in seeds]
    pooled = reliability.pooled(records)
    together = reliability_bins(np.concatenate([p for p, _ in seeds]), np.concatenate([y for _, y in seeds]))
    assert pooled["count"].tolist() == together["count"] and pooled["correct"].tolist() == together["correct"]
    np.testing.assert_allclose(pooled["confidence"], together["confidence"])
    assert reliability.calibration_error(pooled) == pytest.approx(expected_calibration_error(
        np.concatenate([p for p, _ in seeds]), np.concatenate([y for _, y in seeds])), abs=1e-12)
    assert reliability.pooled([{"reliability": None}, {}]) is None  # records older than the bins


def test_known_calibrations():
    # labels drawn from the predicted probabilities: calibrated up to sampling noise
    probabilities, labels = predictions(0, n=20_000)
    assert expected_calibration_error(probabilities, labels) < 0.02
    # always 90% sure and right half the time: 40 points over-confident, in one bin
    sure = np.full((1000, 7), 0.1 / 6)
    sure[:, 0] = 0.9
    half = np.where(np.arange(1000) % 2 == 0, 0, 1)
    bins = reliability_bins(sure, half)
    assert bins["count"][13] == 1000 and bins["correct"][13] == 500 and sum(bins["count"]) == 1000
    assert abs(reliability.calibration_error({k: np.array(v) for k, v in bins.items()}) - 0.4) < 1e-9
