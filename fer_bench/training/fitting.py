"""The train phase of a trial: its monitor, its loop (Keras fit() or the device loop), and the verdict."""

import gc
import time
from dataclasses import dataclass, field

import keras
import numpy as np

from fer_bench.data.formats import EMOTIONS
from fer_bench.faults import mid_epoch_callback, wants
from fer_bench.training.build import Built
from fer_bench.training.continuation import epochs_to_train, initial_epoch
from fer_bench.training.device_loop import check_backend, prepare
from fer_bench.training.gradients import GradientProbe
from fer_bench.training.inputs import fit_inputs
from fer_bench.training.monitor import TrialMonitor
from fer_bench.training.variables import make_training_variables

PROBE_BATCH = 64


@dataclass
class Trained:
    """How training went: seconds in the loop, what the device loop adds to the record's compilation, and
    the TensorBoard folder when one was written."""

    fit_s: float = 0.0
    compilation: dict = field(default_factory=dict)
    tensorboard_dir: str | None = None


def monitor_for(built: Built, inputs, run) -> TrialMonitor:
    training = inputs.trial.config["training"]
    probe = GradientProbe(built.model, built.x_train[:PROBE_BATCH], built.onehot(built.y_train[:PROBE_BATCH]),
                          training["loss"]) if training["gradient_stats"] else None
    return TrialMonitor(run.progress, inputs.trial.slug, diverge_above=100 * uniform_guess_loss(training["loss"]),
                        probe=probe, process_start=run.process_start, timeout_s=training["timeout_s"],
                        stop_at=training["stop_at_val_accuracy"], budget_s=training["budget_s"])


def train(built: Built, monitor: TrialMonitor, callbacks: list, inputs, run, trained: Trained) -> None:
    """Every epoch the trial asks for, or until the monitor stops it. Fills `trained` as it goes, so
    that a trial that fails mid-way still records what came before (its compile time, say)."""
    trial, training = inputs.trial, inputs.trial.config["training"]
    # fer-bench's own objects (specs, data, records, its imports) outlive every fit; frozen, the
    # garbage collector stops walking them during training, where Keras makes garbage every step.
    gc.freeze()
    try:
        if training["loop"] == "device":
            check_backend(keras.backend.backend(), f"{inputs.loaded.path}: trial {trial.slug}")
            loop = prepare(built.model, training["batch_size"], trial.seed, training["shuffle"],
                           time_limited=training["timeout_s"] is not None)
            device_train = inputs.arrays.on_device(inputs.splits["train"])
            device_val = inputs.arrays.on_device(inputs.splits["validation"])
            trained.compilation = {"compile_s": round(loop.compile(device_train, device_val), 3),
                                   "steps_per_call": loop.steps_per_call}
            loop.fit(device_train, device_val, epochs_to_train(trial), callbacks, trial.slug, initial_epoch(trial))
        else:
            make_training_variables(built.model, training["batch_size"])
            if run.tensorboard and keras.backend.backend() == "tensorflow":
                trained.tensorboard_dir = "tensorboard"
                callbacks.append(keras.callbacks.TensorBoard(log_dir=str(inputs.out_dir / "tensorboard"),
                                                             write_graph=False, profile_batch=0))
            if wants("mid_epoch"):
                callbacks.append(mid_epoch_callback(trial.slug))
            built.model.fit(**fit_inputs(built.x_train, built.onehot(built.y_train),
                                         (built.x_val, built.onehot(built.y_val)), training["batch_size"],
                                         training["shuffle"]),
                            epochs=training["epochs"], initial_epoch=initial_epoch(trial), callbacks=callbacks,
                            verbose=0)
    finally:
        gc.unfreeze()
    trained.fit_s = time.time() - monitor.fit_started


def verdict(monitor: TrialMonitor, training: dict) -> tuple[str, dict]:
    """The trial's status after training, and what the record says of it: "complete" still to be
    scored, or "diverged" or "timeout" with the error."""
    if monitor.diverged_epoch:
        return "diverged", {"diverged_epoch": monitor.diverged_epoch,
                            "error": f"diverged at epoch {monitor.diverged_epoch}: {monitor.divergence}"}
    if monitor.timed_out:
        return "timeout", {"error": f"training stopped at its limit of {training['timeout_s']:g}s "
                                    f"(training.timeout_s), in epoch {len(monitor.history)}"}
    return "complete", {}


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


def uniform_guess_loss(loss: str) -> float:
    """The loss of predicting 1/7 for every class: the scale against which divergence is judged."""
    classes = len(EMOTIONS)
    if loss == "categorical_crossentropy":
        return float(np.log(classes))
    return ((1 - 1 / classes) ** 2 + (classes - 1) / classes**2) / classes
