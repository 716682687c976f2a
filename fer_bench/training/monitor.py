"""The runner's one Keras callback: per-epoch timing, learning rate, divergence, best weights, progress."""

import math
import threading
import time

import keras
import numpy as np

from fer_bench.faults import fault_point


class TrialMonitor(keras.callbacks.Callback):
    """Works at epoch granularity only, so that Keras never has to sync after each batch."""

    def __init__(self, progress, slug: str, diverge_above: float, probe=None, process_start: float = 0.0,
                 timeout_s: float | None = None, stop_at: float | None = None, budget_s: float | None = None):
        super().__init__()
        self.budget_s = budget_s
        self.budget_stop: int | None = None
        self.stop_at = stop_at
        self.timeout_s = timeout_s
        self.timed_out = False
        self._timer: threading.Timer | None = None
        self.progress, self.slug, self.probe = progress, slug, probe
        self.process_start = process_start
        self.diverge_above = diverge_above
        self.divergence: str | None = None
        self.history: list[dict] = []
        self.diverged_epoch: int | None = None
        self.best_epoch: int | None = None
        self.best_val_accuracy = -math.inf
        self.best_weights = None
        self._epoch_start = self._val_start = self._epoch_cpu = 0.0
        self._lr = None
        self._train_s = 0.0
        self.fit_started = 0.0
        self.epoch_share = 1.0  # of a group's epoch, 1/its size (progress ETA)

    def on_train_begin(self, logs=None):
        self.fit_started = time.time()
        if self.timeout_s:
            # Keras checks stop_training after every batch: the trial stops within one step of its limit,
            # with no per-batch callback to slow every other trial down.
            self._timer = threading.Timer(self.timeout_s, self._time_up)
            self._timer.daemon = True
            self._timer.start()

    def _time_up(self):
        self.timed_out = True
        self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._timer is not None:
            self._timer.cancel()

    def on_epoch_begin(self, epoch, logs=None):
        # The rate used during this epoch; ReduceLROnPlateau changes it only at epoch end.
        self._lr = float(np.asarray(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))
        self._epoch_start = time.time()
        self._epoch_cpu = time.process_time()
        self._val_start = 0.0

    def on_test_begin(self, logs=None):
        if keras.backend.backend() == "jax":
            # JAX dispatches training steps asynchronously: wait for them, or the training time
            # ends when Python stops queueing steps, not when the device finishes them.
            import jax

            jax.block_until_ready([v.value for v in self.model.trainable_variables])
        self._val_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        now = time.time()
        logs = logs or {}
        train_s = (self._val_start or now) - self._epoch_start
        entry = {
            "epoch": epoch + 1,
            **{k: _finite_or_none(logs.get(k)) for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
            "lr": self._lr,
            "time_s": round(now - self._epoch_start, 4),
            # CPU seconds of every thread of this process: on a shared virtual machine a slow epoch with
            # as much CPU as the others lost its time to a neighbour or a wait, not to more work.
            "cpu_s": round(time.process_time() - self._epoch_cpu, 4),
            "train_s": round(train_s, 4),
            "since_fit_start_s": round(now - self.fit_started, 4),
            "since_process_start_s": round(now - self.process_start, 4),
        }
        if self.probe is not None:
            # a diverged model's gradients may be nan or inf, which JSON cannot hold: such layers are left out
            entry["grad_norms"] = {k: v for k, v in self.probe.norms().items() if math.isfinite(v)}
            entry["grad_probe_s"] = round(time.time() - now, 4)
        self.history.append(entry)
        self.progress.end_epoch(epoch + 1, now - self._epoch_start, logs, self.slug, self.epoch_share)
        self.divergence = self._divergence(logs)
        if self.divergence:
            self.diverged_epoch = epoch + 1
            self.model.stop_training = True
            return
        val = logs.get("val_accuracy", -math.inf)
        if val > self.best_val_accuracy:
            self.best_val_accuracy, self.best_epoch = val, epoch + 1
            self.best_weights = self.model.get_weights()
        if self.stop_at is not None and val >= self.stop_at:
            self.model.stop_training = True  # time-to-accuracy: the target is reached
        elapsed = now - self.fit_started
        done = len(self.history)  # epochs of this fit: a continued trial's first epoch is not epoch 0
        if self.budget_s is not None and elapsed * (done + 1) / done > self.budget_s:
            self.budget_stop = epoch + 1  # one more epoch of the mean length would overrun the budget
            self.model.stop_training = True
        fault_point("epoch", self.slug)


    def _divergence(self, logs: dict) -> str | None:
        for key in ("loss", "val_loss"):
            value = logs.get(key, 0.0)
            if not math.isfinite(value):
                return f"{key} is {value}"
            if value > self.diverge_above:
                return f"{key} {value:.4g} is above {self.diverge_above:.4g} (100x the loss of a uniform guess)"
        return None


def _finite_or_none(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
