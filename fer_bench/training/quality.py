"""Beyond top-1 accuracy, per held-out split: class balance and calibration.

- balanced accuracy and macro-F1 (scikit-learn): a model that never predicts Disgust (1.5% of the
  images) loses little accuracy but a seventh of its balanced accuracy;
- negative log-likelihood and the Brier score (scikit-learn's, multi-class, summed over classes);
- expected calibration error: top-label confidence in ECE_BINS equal-width bins over [0, 1], the
  weighted mean |accuracy - confidence| over the bins (Guo et al., 2017; netcal's ECE with the same
  bins agrees, tests/training/test_quality.py);
- ECE after temperature scaling, the temperature fitted on validation only (NLL, bounded search over
  log T), so that ranking (accuracy) and calibration can be told apart: scaling changes no prediction.
"""

import warnings

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.metrics import balanced_accuracy_score, brier_score_loss, f1_score, log_loss

ECE_BINS = 15
CLASSES = 7
TEMPERATURE_RANGE = (0.05, 20.0)
EPSILON = 1e-7  # probabilities are clipped away from 0 before a logarithm, as Keras's cross-entropy does


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> dict:
    """Per equal-width bin of top-label confidence: how many predictions fell in it, how many of them were
    right and the sum of their confidences. Sums, so that seeds pool by adding (the report's reliability
    diagram); bin i holds confidences in (i/bins, (i+1)/bins], a confidence of exactly 0 the first."""
    confidence = probabilities.max(axis=1).astype(np.float64)
    correct = probabilities.argmax(axis=1) == labels
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    return {"count": np.bincount(which, minlength=bins).tolist(),
            "correct": np.bincount(which, weights=correct, minlength=bins).astype(int).tolist(),
            "confidence": np.bincount(which, weights=confidence, minlength=bins).tolist()}


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """The weighted mean over bins of |accuracy - confidence|: sum over bins of |right - confidence sum| / n."""
    found = reliability_bins(probabilities, labels, bins)
    return float(sum(abs(right - total) for right, total in zip(found["correct"], found["confidence"]))
                 / max(len(labels), 1))


def scaled(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): the same ranking, confidences softened (T > 1) or sharpened (T < 1)."""
    logits = np.log(np.clip(probabilities.astype(np.float64), EPSILON, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of `labels` (validation's)."""
    low, high = np.log(TEMPERATURE_RANGE)

    def nll(log_t: float) -> float:
        p = scaled(probabilities, float(np.exp(log_t)))
        return float(-np.log(np.clip(p[np.arange(len(labels)), labels], EPSILON, 1.0)).mean())

    found = minimize_scalar(nll, bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(found.x))


def quality(probabilities: np.ndarray, labels: np.ndarray, temperature: float | None) -> dict:
    """One split's class-balance and calibration metrics (`temperature`: validation's, for ece_scaled)."""
    predicted = probabilities.argmax(axis=1)
    classes = list(range(CLASSES))
    normalized = probabilities.astype(np.float64)  # float32 softmax rows sum to 1 within 1e-7 only
    normalized /= normalized.sum(axis=1, keepdims=True)
    with warnings.catch_warnings():
        # A small split (a sample, --max-eval-samples) may lack a class the model predicts: balanced accuracy is
        # then the mean recall over the classes present, as documented; sklearn's warning would only be noise.
        warnings.filterwarnings("ignore", "y_pred contains classes not in y_true")
        balanced = float(balanced_accuracy_score(labels, predicted))
    found = {
        "balanced_accuracy": balanced,
        "macro_f1": float(f1_score(labels, predicted, labels=classes, average="macro", zero_division=0)),
        "nll": float(log_loss(labels, normalized, labels=classes)),
        "brier": float(brier_score_loss(labels, normalized, labels=classes, scale_by_half=False)),
        "ece": expected_calibration_error(probabilities, labels),
    }
    if temperature is not None:
        found["ece_scaled"] = expected_calibration_error(scaled(probabilities, temperature), labels)
    return found
