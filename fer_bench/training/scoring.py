"""The score phase of a trial: the held-out splits, honest scores, the best epoch's weights, test views."""

import time

import numpy as np

from fer_bench.data.formats import EMOTIONS
from fer_bench.data.leakage import dedup_masks, honest_scores
from fer_bench.data.splits import Split
from fer_bench.faults import fault_point
from fer_bench.training.augment import predict_views, test_views
from fer_bench.training.inputs import predict
from fer_bench.training.quality import fit_temperature, quality, reliability_bins
from fer_bench.training.robustness import corruption_scores
from fer_bench.training.running_cost import running_cost, saved_bytes

TEST_SPLITS = ("public_test", "private_test")
PREDICT_BATCH = 256
PREDICTION_SAMPLES = 24


def score(model, monitor, inputs, validation: tuple[np.ndarray, np.ndarray], device: str) -> dict:
    """The record's scores of a trial that trained to its end: last and best epoch, on every split; what the
    final weights cost to run on `device` (the record's device kind)."""
    trial, training = inputs.trial, inputs.trial.config["training"]
    fault_point("evaluate", trial.slug)
    tests = {name: inputs.arrays.get(inputs.splits[name]) for name in TEST_SPLITS}
    final = evaluate(model, tests, training["loss"])
    masks = dedup_masks(inputs.audit, inputs.data, inputs.splits)
    last = monitor.history[-1]
    scored = {
        "metrics": {**metrics(last, final),
                    **honest_scores(predicts(model), masks, final, last["val_accuracy"], validation),
                    **quality_metrics(predict(model, validation[0], PREDICT_BATCH), validation[1], final)},
        "confusion_matrix": {name: final[name]["confusion"] for name in TEST_SPLITS},
        "reliability": {name: reliability_bins(final[name]["probabilities"], final[name]["labels"])
                        for name in TEST_SPLITS},
        "predictions": sample_predictions(inputs.splits["public_test"], tests["public_test"][1],
                                          final["public_test"]["probabilities"], trial.split_seed),
        "best_epoch": monitor.best_epoch,
    }
    if training["corruptions"]:
        public = inputs.splits["public_test"]
        scored["corruptions"] = corruption_scores(model, inputs.arrays.corrupted(), public.indices,
                                                  tests["public_test"][1], final["public_test"]["accuracy"],
                                                  PREDICT_BATCH)
        scored["metrics"].update(corruption_metrics(scored["corruptions"]))
    scored["running_cost"] = measured_running_cost(model, tests["public_test"][0], device, final["private_test"])
    best = final
    if monitor.best_epoch != last["epoch"] and monitor.best_weights is not None:
        model.set_weights(monitor.best_weights)
        best = evaluate(model, tests, training["loss"])
    # by its number: a continued trial's history starts after epoch 1
    best_epoch = next(h for h in monitor.history if h["epoch"] == monitor.best_epoch)
    scored["best_metrics"] = {**metrics(best_epoch, best),
                              **honest_scores(predicts(model), masks, best, best_epoch["val_accuracy"], validation)}
    scored["best_metrics"].update(scored["metrics"] if best is final else quality_metrics(
        predict(model, validation[0], PREDICT_BATCH), validation[1], best))
    scored["best_confusion_matrix"] = {name: best[name]["confusion"] for name in TEST_SPLITS}
    if training["tta"] != "none":
        scored["tta"] = tta_scores(model, {"validation": validation, **tests}, training["tta"])
    if training["stop_at_val_accuracy"] is not None:
        scored["time_to_target"] = time_to_target(monitor, training["stop_at_val_accuracy"], final)
    if training["keep_best_weights"]:
        inputs.out_dir.mkdir(parents=True, exist_ok=True)
        model.save(inputs.out_dir / "best.keras")
        scored["best_weights_file"] = "best.keras"
    return scored


def quality_metrics(val_probabilities: np.ndarray, val_labels: np.ndarray, tests: dict) -> dict:
    """Class balance and calibration on validation and both tests (training/quality.py), the temperature
    fitted on validation's predictions; keys as the accuracies': val_ece, public_test_macro_f1, ..."""
    temperature = fit_temperature(val_probabilities, val_labels)
    found = {"temperature": temperature}
    splits = {"val": (val_probabilities, val_labels),
              **{name: (tests[name]["probabilities"], tests[name]["labels"]) for name in TEST_SPLITS}}
    for prefix, (probabilities, labels) in splits.items():
        found.update({f"{prefix}_{key}": value for key, value in quality(probabilities, labels, temperature).items()})
    return found


def measured_running_cost(model, images: np.ndarray, device: str, private_test: dict) -> dict:
    """`private_test`: evaluate's result for PrivateTest, predicted after another split, so compiled already:
    its pass is the throughput at PREDICT_BATCH."""
    throughput = (len(private_test["labels"]), private_test["seconds"])
    return {"saved_bytes": saved_bytes(model), **running_cost(model, images, device, throughput, PREDICT_BATCH)}


def corruption_metrics(corruptions: dict) -> dict:
    """The FER-2013-C summary among a record's metrics, where the report's tables and verdicts read them."""
    return {"public_test_c_accuracy": corruptions["mean_accuracy"], "public_test_c_drop": corruptions["relative_drop"]}


def scores(probabilities: np.ndarray, labels: np.ndarray, loss: str) -> dict:
    onehot = np.eye(len(EMOTIONS), dtype=np.float32)[labels]
    if loss == "categorical_crossentropy":
        value = -np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)).mean()
    else:
        value = np.square(probabilities - onehot).mean(axis=1).mean()
    predicted = probabilities.argmax(axis=1)
    matrix = np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return {"accuracy": float((predicted == labels).mean()), "loss": float(value), "confusion": matrix.tolist()}


def evaluate(model, arrays: dict[str, tuple[np.ndarray, np.ndarray]], loss: str) -> dict:
    results = {}
    for name, (x, y) in arrays.items():
        started = time.perf_counter()
        probabilities = predict(model, x, PREDICT_BATCH)
        seconds = time.perf_counter() - started
        results[name] = {**scores(probabilities, y, loss), "probabilities": probabilities, "labels": y,
                         "seconds": seconds}
    return results


def predicts(model):
    """The model's predict over images in order, as the honest scores take it."""
    return lambda x: predict(model, x, PREDICT_BATCH)


def sample_predictions(split: Split, labels: np.ndarray, probabilities: np.ndarray, seed: int) -> dict:
    """Predictions for a fixed set of test images, the same for every trial with the same split seed."""
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(split.indices), size=min(PREDICTION_SAMPLES, len(split.indices)),
                                replace=False))
    return {
        "split": split.name,
        "indices": split.indices[chosen].tolist(),
        "true": labels[chosen].tolist(),
        "predicted": probabilities[chosen].argmax(axis=1).tolist(),
        "probabilities": np.round(probabilities[chosen].astype(np.float64), 4).tolist(),
    }


def tta_scores(model, arrays: dict, mode: str) -> dict:
    """Accuracy per split of the averaged test views (of the weights the best metrics come from)."""
    scored = {"mode": mode, "views": len(test_views(arrays["validation"][0][:1], mode))}
    for name, (x, y) in arrays.items():
        probabilities = predict_views(model, x, mode, PREDICT_BATCH)
        key = "val_accuracy" if name == "validation" else f"{name}_accuracy"
        scored[key] = float((probabilities.argmax(axis=1) == y).mean())
    return scored


def time_to_target(monitor, target: float, final: dict) -> dict:
    """When validation accuracy first reached the target, and the test accuracies there (training
    stopped at that epoch, so they are the final weights' scores); `reached` false when it never did."""
    hit = next((h for h in monitor.history if (h["val_accuracy"] or 0.0) >= target), None)
    if hit is None:
        return {"target": target, "reached": False, "epochs": len(monitor.history)}
    return {"target": target, "reached": True, "epoch": hit["epoch"], "since_fit_start_s": hit["since_fit_start_s"],
            "since_process_start_s": hit["since_process_start_s"],
            **{f"{name}_accuracy": final[name]["accuracy"] for name in TEST_SPLITS}}


def metrics(epoch: dict, tests: dict) -> dict:
    return {
        "train_accuracy": epoch["accuracy"],
        "train_loss": epoch["loss"],
        "val_accuracy": epoch["val_accuracy"],
        "val_loss": epoch["val_loss"],
        **{f"{name}_accuracy": tests[name]["accuracy"] for name in TEST_SPLITS},
        **{f"{name}_loss": tests[name]["loss"] for name in TEST_SPLITS},
    }
