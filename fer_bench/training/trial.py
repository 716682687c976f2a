"""One trial: seed, build, compile, fit, evaluate on the held-out splits -> one record."""

import gc
import math
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np

from fer_bench.data.audit import summarize as audit_summary
from fer_bench.data.formats import EMOTIONS, FERData
from fer_bench.data.leakage import dedup_masks, honest_scores
from fer_bench.data.splits import Split
from fer_bench.faults import fault_point, mid_epoch_callback, wants
from fer_bench.models import BUILDERS
from fer_bench.models.base import INPUT_SHAPE
from fer_bench.records import FORMAT_VERSION, RECORD, time_to_accuracy
from fer_bench.search.summary import search_block
from fer_bench.spec.schema import LoadedSpec
from fer_bench.spec.trials import Trial
from fer_bench.storage import write_json_atomic
from fer_bench.training.augment import augmentation_layers, predict_views, test_views
from fer_bench.training.backend import set_random_seed
from fer_bench.training.device_loop import DeviceSplit, check_backend, prepare
from fer_bench.training.gradients import GradientProbe
from fer_bench.training.inputs import fit_inputs, pipeline, predict
from fer_bench.training.memory import MemoryWatch
from fer_bench.training.monitor import TrialMonitor
from fer_bench.training.schedules import make_schedule
from fer_bench.training.variables import make_training_variables

TEST_SPLITS = ("public_test", "private_test")
PREDICT_BATCH = 256
PROBE_BATCH = 64
PREDICTION_SAMPLES = 24


def build_model(config: dict):
    builder = BUILDERS[config["model"]["builder"]]
    model = builder.build(builder.params(config["model"]["params"]))
    check_shapes(model, f"builder {builder.name!r}")
    augmentation = augmentation_layers(config["training"]["augmentation"])
    if not augmentation:
        return model
    # Augmentation layers are active in fit() only; inference sees the image as it is.
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = inputs
    for layer in augmentation:
        x = layer(x)
    return keras.Model(inputs, model(x), name=f"{model.name}_augmented")


class ShapeError(ValueError):
    pass


def check_shapes(model, what: str) -> None:
    """FER-2013 in, 7 emotions out; anything else fails the trial with a sentence, not a shape error."""
    try:
        ins, outs = [tuple(t.shape[1:]) for t in model.inputs], [tuple(t.shape[1:]) for t in model.outputs]
    except (AttributeError, TypeError, ValueError):  # a subclassed model knows its shapes once called
        ins, outs = [INPUT_SHAPE], [tuple(model(np.zeros((1, *INPUT_SHAPE), "float32")).shape[1:])]
    inputs, outputs = (ins[0] if len(ins) == 1 else ins), (outs[0] if len(outs) == 1 else outs)
    if inputs != INPUT_SHAPE or outputs != (len(EMOTIONS),):
        raise ShapeError(f"{what}: the model maps {inputs} to {outputs}; fer-bench needs one input of shape "
                         f"{INPUT_SHAPE} (48x48 grey in [0, 1]) and one output of shape ({len(EMOTIONS)},) (softmax)")


def make_optimizer(spec: dict, learning_rate=None):
    """The spec's optimizer; `learning_rate` (a schedule, say) replaces its constant rate."""
    common = {"learning_rate": spec["learning_rate"] if learning_rate is None else learning_rate}
    if spec["weight_decay"] is not None:
        common["weight_decay"] = spec["weight_decay"]
    name = spec["name"]
    if name == "sgd":
        return keras.optimizers.SGD(momentum=spec["momentum"], nesterov=spec["nesterov"], **common)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(momentum=spec["momentum"], **common)
    return {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
            "nadam": keras.optimizers.Nadam}[name](**common)


def make_callbacks(spec: dict) -> list:
    callbacks = []
    if rop := spec["reduce_lr_on_plateau"]:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=rop["monitor"], factor=rop["factor"], patience=rop["patience"], min_lr=rop["min_lr"],
            mode="max" if "accuracy" in rop["monitor"] else "min"))
    if es := spec["early_stopping"]:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=es["monitor"], patience=es["patience"], min_delta=es["min_delta"],
            mode="max" if "accuracy" in es["monitor"] else "min"))
    return callbacks


class ArrayCache:
    """Float arrays per split (and their uint8 copies on the device), built once per run and shared by every
    trial that uses them."""

    def __init__(self, data: FERData):
        self.data = data
        self._arrays: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def get(self, split: Split) -> tuple[np.ndarray, np.ndarray]:
        key = split.indices.tobytes()
        if key not in self._arrays:
            self._arrays[key] = (split.x(self.data), split.y(self.data))
        return self._arrays[key]

    def on_device(self, split: Split) -> DeviceSplit:
        """The split's uint8 pixels and labels on the accelerator, put there once per run."""
        key = b"device" + split.indices.tobytes()
        if key not in self._arrays:
            self._arrays[key] = DeviceSplit.put(self.data, split)
        return self._arrays[key]


def uniform_guess_loss(loss: str) -> float:
    """The loss of predicting 1/7 for every class: the scale against which divergence is judged."""
    classes = len(EMOTIONS)
    if loss == "categorical_crossentropy":
        return float(np.log(classes))
    return ((1 - 1 / classes) ** 2 + (classes - 1) / classes**2) / classes


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
        probabilities = predict(model, x, PREDICT_BATCH)
        results[name] = {**scores(probabilities, y, loss), "probabilities": probabilities, "labels": y}
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


def run_trial(trial: Trial, trial_id: str, loaded: LoadedSpec, data: FERData, splits: dict[str, Split],
              arrays: ArrayCache, env: dict, progress, out_dir: Path, context: dict) -> dict:
    """Train and score one trial and write its record; a failure is recorded, not raised."""
    started = time.time()
    record = {
        "format_version": FORMAT_VERSION,
        "spec": trial.spec_name,
        "trial_id": trial_id,
        "variant": trial.variant,
        "params": trial.params,
        "seed": trial.seed,
        "status": "failed",
        "config": trial.config,
        "overrides": trial.overrides,
        "spec_file": str(loaded.path),
        "spec_sha256": loaded.sha256,
        "spec_content": loaded.text,
        "data": {**data.describe(), **{k: trial.config["dataset"][k] for k in (
            "split_seed", "validation_fraction", "max_train_samples", "max_eval_samples", "drop_test_duplicates",
            "drop_blank", "protocol")},
                 "dropped_from_training": context["dropped_from_training"],
                 "audit": audit_summary(context["audit"], data, splits["train"].indices, splits["validation"].indices),
                 "n": {name: int(len(s.indices)) for name, s in splits.items()}},
        "environment": {**env, "data_fingerprint": data.fingerprint, "seed": trial.seed},
        "command": context.get("command"),
        "started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
    }
    training = trial.config["training"]
    progress.start_trial(trial.slug, training["epochs"])
    monitor, detail = None, None
    memory = MemoryWatch().start()
    try:
        set_random_seed(trial.seed)
        keras.config.set_dtype_policy(training["mixed_precision"] or "float32")
        fault_point("build", trial.slug)
        model = build_model(trial.config)
        x_train, y_train = arrays.get(splits["train"])
        steps = math.ceil(len(x_train) / training["batch_size"])
        rate = make_schedule(training["schedule"], training["optimizer"]["learning_rate"], steps, training["epochs"])
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=training["label_smoothing"]) \
            if training["label_smoothing"] else training["loss"]
        model.compile(optimizer=make_optimizer(training["optimizer"], rate), loss=loss, metrics=["accuracy"],
                      jit_compile=training["jit_compile"], steps_per_execution=training["steps_per_execution"])
        record["model"] = _model_summary(trial.config, model)
        record["compilation"] = compilation(model, training)
        x_val, y_val = arrays.get(splits["validation"])
        onehot = np.eye(len(EMOTIONS), dtype=np.float32)
        probe = GradientProbe(model, x_train[:PROBE_BATCH], onehot[y_train[:PROBE_BATCH]], training["loss"]) \
            if training["gradient_stats"] else None
        monitor = TrialMonitor(progress, trial.slug, diverge_above=100 * uniform_guess_loss(training["loss"]),
                               probe=probe, process_start=context["process_start"], timeout_s=training["timeout_s"],
                               stop_at=training["stop_at_val_accuracy"], budget_s=training["budget_s"])
        # fer-bench's own objects (specs, data, records, its imports) outlive every fit; frozen, the
        # garbage collector stops walking them during training, where Keras makes garbage every step.
        gc.freeze()
        try:
            callbacks = [monitor, *make_callbacks(training["callbacks"])]
            if training["loop"] == "device":
                check_backend(keras.backend.backend(), f"{loaded.path}: trial {trial.slug}")
                loop = prepare(model, training["batch_size"], trial.seed, training["shuffle"],
                               time_limited=training["timeout_s"] is not None)
                device_train, device_val = arrays.on_device(splits["train"]), arrays.on_device(splits["validation"])
                record["compilation"].update(compile_s=round(loop.compile(device_train, device_val), 3),
                                             steps_per_call=loop.steps_per_call)
                loop.fit(device_train, device_val, training["epochs"], callbacks, trial.slug)
            else:
                make_training_variables(model, training["batch_size"])
                model.fit(**fit_inputs(x_train, onehot[y_train], (x_val, onehot[y_val]), training["batch_size"],
                                       training["shuffle"]),
                          epochs=training["epochs"], callbacks=[*callbacks, *_tensorboard(context, out_dir, record),
                                     *([mid_epoch_callback(trial.slug)] if wants("mid_epoch") else [])], verbose=0)
        finally:
            gc.unfreeze()
        fit_s = time.time() - monitor.fit_started
        record["history"] = monitor.history
        record["time_to_accuracy"] = time_to_accuracy(monitor.history)
        if monitor.budget_stop:
            record["stopped_by_budget"] = {"epoch": monitor.budget_stop, "budget_s": training["budget_s"]}
        progress.skip_epochs(training["epochs"] - len(monitor.history))
        if monitor.diverged_epoch:
            record.update(status="diverged", diverged_epoch=monitor.diverged_epoch,
                          error=f"diverged at epoch {monitor.diverged_epoch}: {monitor.divergence}")
        elif monitor.timed_out:
            record.update(status="timeout", error=f"training stopped at its limit of {training['timeout_s']:g}s "
                                                  f"(training.timeout_s), in epoch {len(monitor.history)}")
        else:
            fault_point("evaluate", trial.slug)
            eval_start = time.time()
            tests = {name: arrays.get(splits[name]) for name in TEST_SPLITS}
            final = evaluate(model, tests, training["loss"])
            masks = dedup_masks(context["audit"], data, splits)
            val_arrays = (x_val, y_val)
            last = monitor.history[-1]
            record["metrics"] = {**_metrics(last, final),
                                 **honest_scores(predicts(model), masks, final, last["val_accuracy"], val_arrays)}
            record["confusion_matrix"] = {name: final[name]["confusion"] for name in TEST_SPLITS}
            record["predictions"] = sample_predictions(splits["public_test"], tests["public_test"][1],
                                                       final["public_test"]["probabilities"],
                                                       trial.config["dataset"]["split_seed"])
            record["best_epoch"] = monitor.best_epoch
            best = final
            if monitor.best_epoch != len(monitor.history) and monitor.best_weights is not None:
                model.set_weights(monitor.best_weights)
                best = evaluate(model, tests, training["loss"])
            best_epoch = monitor.history[monitor.best_epoch - 1]
            record["best_metrics"] = {**_metrics(best_epoch, best),
                                      **honest_scores(predicts(model), masks, best, best_epoch["val_accuracy"],
                                                      val_arrays)}
            record["best_confusion_matrix"] = {name: best[name]["confusion"] for name in TEST_SPLITS}
            if training["tta"] != "none":
                record["tta"] = tta_scores(model, {"validation": val_arrays, **tests}, training["tta"])
            if training["stop_at_val_accuracy"] is not None:
                record["time_to_target"] = time_to_target(monitor, training["stop_at_val_accuracy"], final)
            if training["keep_best_weights"]:
                out_dir.mkdir(parents=True, exist_ok=True)
                model.save(out_dir / "best.keras")
                record["best_weights_file"] = "best.keras"
            record["status"] = "complete"
            record["timing_eval_s"] = time.time() - eval_start
        record["timing"] = _timing(monitor.history, len(splits["train"].indices), started, fit_s,
                                   record.pop("timing_eval_s", None))
    except Exception as exc:  # the run goes on; the record and error.log say what happened
        record["status"] = "failed"
        record["error"] = f"{exc.__class__.__name__}: {exc}".splitlines()[0][:500]
        detail = traceback.format_exc()
        if monitor is not None:
            record["history"] = monitor.history
            progress.skip_epochs(training["epochs"] - len(monitor.history))
        else:
            progress.skip_epochs(training["epochs"])
        record["timing"] = {"total_s": round(time.time() - started, 3)}
    finally:
        record["memory"] = memory.stop()
        keras.backend.clear_session()
    if record["status"] != "complete":
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "error.log").write_text(detail or record["error"] + "\n", encoding="utf-8")
    if context.get("search"):
        record["search"] = search_block(context["search"], record)
    record["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_json_atomic(out_dir / RECORD, record, before_rename=lambda: fault_point("write", trial.slug))
    return record


def _tensorboard(context: dict, out_dir: Path, record: dict) -> list:
    """TensorBoard event files in the trial's folder when asked for (`run --tensorboard`), on TensorFlow."""
    if not context.get("tensorboard") or keras.backend.backend() != "tensorflow":
        return []
    record["tensorboard_dir"] = "tensorboard"
    return [keras.callbacks.TensorBoard(log_dir=str(out_dir / "tensorboard"), write_graph=False, profile_batch=0)]


def _model_summary(config: dict, model) -> dict:
    builder = BUILDERS[config["model"]["builder"]]
    cost = builder.cost_of(config["model"]["params"])
    trainable = cost.trainable_parameters if cost else int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return {"builder": builder.name, "parameters": int(model.count_params()),
            "trainable_parameters": trainable, "macs_per_image": cost.macs if cost else None}


def compilation(model, training: dict) -> dict:
    """How the training step ran: what was asked, what Keras made of it, and by which compiler."""
    backend = keras.backend.backend()
    compiled = bool(model.jit_compile)
    compiler = {"jax": "XLA" if compiled else "none (eager JAX)",
                "tensorflow": "XLA" if compiled else "tf.function graph",
                "torch": "torch.compile" if compiled else "none (eager torch)"}.get(backend, str(compiled))
    if training["loop"] == "device":
        compiled, compiler = True, "XLA (training.loop: device)"
    return {"jit_compile_requested": training["jit_compile"], "jit_compile": compiled, "compiler": compiler,
            "steps_per_execution": training["steps_per_execution"], "loop": training["loop"],
            "input_pipeline": "device arrays" if training["loop"] == "device" else pipeline()}


def _metrics(epoch: dict, tests: dict) -> dict:
    return {
        "train_accuracy": epoch["accuracy"],
        "train_loss": epoch["loss"],
        "val_accuracy": epoch["val_accuracy"],
        "val_loss": epoch["val_loss"],
        **{f"{name}_accuracy": tests[name]["accuracy"] for name in TEST_SPLITS},
        **{f"{name}_loss": tests[name]["loss"] for name in TEST_SPLITS},
    }


def _timing(history: list[dict], n_train: int, started: float, fit_s: float, eval_s: float | None) -> dict:
    train_s = [h["train_s"] for h in history]
    steady = train_s[1:] or train_s
    return {
        "total_s": round(time.time() - started, 3),
        "fit_s": round(fit_s, 3),
        "eval_s": round(eval_s, 3) if eval_s is not None else None,
        "seconds_per_epoch": round(sum(h["time_s"] for h in history) / len(history), 3) if history else None,
        "train_images_per_s": round(n_train * len(train_s) / sum(train_s), 1) if train_s else None,
        # The first epoch includes tracing and compilation; later epochs show the steady rate.
        "steady_train_images_per_s": round(n_train * len(steady) / sum(steady), 1) if steady else None,
    }
