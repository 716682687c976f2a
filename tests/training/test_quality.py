"""Class balance and calibration (training/quality.py) on made predictions whose answers are known, and
against netcal, the calibration library, on the same inputs."""

import numpy as np
import pytest

from fer_bench.training.quality import expected_calibration_error, fit_temperature, quality, scaled


def predictions(confidence: float, correct: int, wrong: int, true_class: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`correct + wrong` images whose top class has probability `confidence` (the rest spread evenly over
    the other six); `correct` of them are right."""
    n = correct + wrong
    probabilities = np.full((n, 7), (1 - confidence) / 6)
    probabilities[:, true_class] = confidence
    labels = np.array([true_class] * correct + [(true_class + 1) % 7] * wrong)
    return probabilities, labels


def made(parts) -> tuple[np.ndarray, np.ndarray]:
    found = [predictions(*part) for part in parts]
    return np.concatenate([p for p, _ in found]), np.concatenate([y for _, y in found])


def random_predictions(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Overconfident logits, right about half the time."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 7)) * 3
    labels = np.where(rng.random(n) < 0.5, logits.argmax(axis=1), rng.integers(0, 7, n))
    probabilities = np.exp(logits)
    return probabilities / probabilities.sum(axis=1, keepdims=True), labels


def test_a_perfectly_calibrated_predictor_has_no_calibration_error():
    # in each confidence bin the accuracy equals the confidence: 0.5 (1 of 2), 0.75 (3 of 4), 0.9 (9 of 10)
    probabilities, labels = made([(0.5, 10, 10, 0), (0.75, 30, 10, 2), (0.9, 90, 10, 4)])
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0, abs=1e-12)


def test_an_overconfident_predictor_and_what_temperature_scaling_makes_of_it():
    # 99% sure, right half the time: the error is 0.49; a fitted temperature softens it to near 0.5
    probabilities, labels = made([(0.99, 50, 50, 3)])
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.49)
    temperature = fit_temperature(probabilities, labels)
    assert temperature > 1
    found = quality(probabilities, labels, temperature)
    assert found["ece"] == pytest.approx(0.49) and found["ece_scaled"] < 0.01
    assert (scaled(probabilities, temperature).argmax(axis=1) == probabilities.argmax(axis=1)).all()


def test_a_constant_class_predictor_has_balanced_accuracy_one_seventh():
    labels = np.repeat(np.arange(7), [30, 5, 40, 70, 50, 35, 60])  # FER-2013-like imbalance
    probabilities = np.tile(np.eye(7)[3] * 0.9 + 0.1 / 7, (len(labels), 1))  # always Happy
    found = quality(probabilities, labels, None)
    assert found["balanced_accuracy"] == pytest.approx(1 / 7)
    accuracy = 70 / len(labels)
    assert found["macro_f1"] == pytest.approx(2 * accuracy / (accuracy + 1) / 7)  # F1 of Happy, 0 for the rest
    assert "ece_scaled" not in found


@pytest.fixture(scope="module")
def netcal():
    return pytest.importorskip("netcal")  # in the dev extra: present wherever the tests run


def test_ece_and_temperature_scaling_agree_with_netcal(netcal):
    from netcal.metrics import ECE
    from netcal.scaling import TemperatureScaling

    for seed in range(3):
        probabilities, labels = random_predictions(seed)
        assert expected_calibration_error(probabilities, labels) == pytest.approx(
            ECE(bins=15).measure(probabilities, labels), abs=1e-9)
        theirs = TemperatureScaling()
        theirs.fit(probabilities, labels)
        temperature = fit_temperature(probabilities, labels)
        # netcal multiplies the logits by a weight: the inverse of the temperature
        assert temperature == pytest.approx(1 / float(theirs.temperature[0]), rel=2e-3)
        assert np.abs(scaled(probabilities, temperature) - theirs.transform(probabilities)).max() < 1e-2


def test_the_other_metrics_are_scikit_learns(netcal):
    from sklearn.metrics import brier_score_loss, log_loss

    probabilities, labels = random_predictions(7)
    found = quality(probabilities, labels, 1.0)
    assert found["nll"] == pytest.approx(log_loss(labels, probabilities, labels=range(7)), rel=1e-6)
    onehot = np.eye(7)[labels]
    assert found["brier"] == pytest.approx(np.square(probabilities - onehot).sum(axis=1).mean(), rel=1e-6)
    assert found["brier"] == pytest.approx(brier_score_loss(labels, probabilities, labels=range(7),
                                                            scale_by_half=False), rel=1e-9)
    assert found["ece_scaled"] == pytest.approx(found["ece"])  # a temperature of 1 changes nothing
