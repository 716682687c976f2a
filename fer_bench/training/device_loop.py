"""`training.loop: device` (JAX): the splits stay on the accelerator and each epoch is one compiled call.

The train and validation splits go to the device once, as uint8. Each epoch draws its order on the
device (`jax.random.permutation`), and one jitted call gathers each batch, scales it to [0, 1] and
runs Keras's own stateless `train_step` for every step in a `lax.fori_loop`; augmentation and
dropout are the model's Keras layers, drawing from their seed generators inside the compiled step
exactly as in `fit()`. Between epochs the state goes back into the model's variables, so every
Keras callback (the trial monitor, ReduceLROnPlateau, EarlyStopping) sees what it sees under
`fit()`: one Python round trip per epoch, not per step.

An epoch is split into several calls only when something must look in between: a time limit (the
timer's stop is checked after each call) or the fault tests' mid-epoch point. On a CPU every call
is one step (see DeviceLoop).
"""

import math
import time
from dataclasses import dataclass

import keras
import numpy as np

from fer_bench.data.formats import EMOTIONS, FERData
from fer_bench.data.splits import Split
from fer_bench.faults import fault_point, wants
from fer_bench.training.variables import make_training_variables

# jax is imported where it is used: every trial imports this module, whatever the backend.
CALLS_PER_EPOCH_UNDER_A_TIME_LIMIT = 8
MID_EPOCH_STEP = 3  # where the fault tests' `mid_epoch` point sits, as in fit()'s mid-epoch callback


class DeviceLoopError(RuntimeError):
    pass


@dataclass(frozen=True)
class DeviceSplit:
    """One split on the device: uint8 pixels (n, 48, 48, 1) and int32 labels."""

    pixels: object
    labels: object

    @classmethod
    def put(cls, data: FERData, split: Split) -> "DeviceSplit":
        import jax

        return cls(jax.device_put(data.pixels[split.indices][..., None]),
                   jax.device_put(data.labels[split.indices].astype(np.int32)))

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def check_backend(backend: str, where: str) -> None:
    if backend != "jax":
        raise DeviceLoopError(f"{where}: training.loop: device needs the JAX backend (KERAS_BACKEND=jax), not "
                              f"{backend}; use loop: fit on {backend}")


class DeviceLoop:
    """Compiled epoch functions for one compiled model and batch size.

    On an accelerator an epoch is one call: a `lax.fori_loop` over its steps. On a CPU each call is one
    step, on data already in place: XLA:CPU compiles a convolution inside a loop to a slow path (20
    steps of the small CNN: 139 s in a loop, 7.6 s as single steps), so there the loop saves nothing.
    """

    def __init__(self, model, batch_size: int, seed: int, shuffle: bool, time_limited: bool = False,
                 whole_epoch_calls: bool | None = None):
        import jax

        self.model, self.batch_size, self.shuffle = model, batch_size, shuffle
        self.split_epochs = time_limited
        self.whole_epoch_calls = jax.default_backend() != "cpu" if whole_epoch_calls is None else whole_epoch_calls
        self.key = jax.random.key(seed)
        self.compile_s = 0.0

    @property
    def steps_per_call(self) -> str | int:
        return "epoch" if self.whole_epoch_calls else 1

    # -- the compiled parts ------------------------------------------------------------------------
    def _order(self, key, labels):
        import jax
        import jax.numpy as jnp

        n = labels.shape[0]
        return jax.random.permutation(key, n) if self.shuffle else jnp.arange(n)

    def _batch(self, pixels, labels, rows):
        import jax
        import jax.numpy as jnp

        x = pixels[rows].astype(jnp.float32) / 255.0  # as Split.x scales it on the host
        return x, jax.nn.one_hot(labels[rows], len(EMOTIONS), dtype=jnp.float32)

    def _rows(self, order, i):
        import jax

        return jax.lax.dynamic_slice_in_dim(order, i * self.batch_size, self.batch_size)

    # `step` is the model's train_step or test_step: both map (state, batch) to (logs, state).
    def _range(self, step, state, pixels, labels, order, start, stop):
        import jax

        def body(i, state):
            return step(state, self._batch(pixels, labels, self._rows(order, i)))[1]

        return jax.lax.fori_loop(start, stop, body, state)

    def _at(self, step, state, pixels, labels, order, i):
        return step(state, self._batch(pixels, labels, self._rows(order, i)))[1]

    def _tail(self, step, tail: int, state, pixels, labels, order):
        return step(state, self._batch(pixels, labels, order[-tail:]))[1]

    def _compile_epoch(self, step, state, split: "DeviceSplit", order) -> dict:
        """The calls of one pass over `split`: its full batches (a range, or one step) and its tail."""
        import functools

        import jax

        full, tail = divmod(len(split), self.batch_size)
        calls = {}
        if full:
            body = self._range if self.whole_epoch_calls else self._at
            bounds = (0, full) if self.whole_epoch_calls else (0,)
            calls["full"] = jax.jit(functools.partial(body, step)).lower(
                state, split.pixels, split.labels, order, *bounds).compile()
        if tail:
            calls["tail"] = jax.jit(functools.partial(self._tail, step, tail)).lower(
                state, split.pixels, split.labels, order).compile()
        return calls

    def _run(self, calls: dict, state, split: "DeviceSplit", order, ranges, after_first_call=None):
        """The full batches in `ranges` (stopping when a callback asks), then the tail; the new state."""
        for number, (start, stop) in enumerate(ranges):
            if self.whole_epoch_calls:
                state = calls["full"](state, split.pixels, split.labels, order, start, stop)
            else:
                for i in range(start, stop):
                    state = calls["full"](state, split.pixels, split.labels, order, i)
            if number == 0 and after_first_call is not None:
                after_first_call(state)
            if self.model.stop_training:
                return state
        if "tail" in calls:
            state = calls["tail"](state, split.pixels, split.labels, order)
        return state

    # -- one epoch -----------------------------------------------------------------------------------
    def compile(self, train: DeviceSplit, validation: DeviceSplit) -> float:
        """Compile every function ahead of the first epoch; returns the seconds it took."""
        import jax
        import jax.numpy as jnp

        began = time.perf_counter()
        key = jax.random.fold_in(self.key, 0)
        self._order_of = jax.jit(self._order).lower(key, train.labels).compile()
        self._validation_order = jnp.arange(len(validation))  # validation is never shuffled
        self._train_calls = self._compile_epoch(self.model.train_step, train_state(self.model), train,
                                                self._order_of(key, train.labels))
        self._test_calls = self._compile_epoch(self.model.test_step, test_state(self.model), validation,
                                               self._validation_order)
        self.compile_s = time.perf_counter() - began
        return self.compile_s

    def train_epoch(self, epoch: int, train: DeviceSplit, slug: str) -> dict:
        """Train one epoch (stopping early when a callback set stop_training); the epoch's train logs."""
        import jax

        self.model.reset_metrics()
        order = self._order_of(jax.random.fold_in(self.key, epoch), train.labels)
        ranges = self._calls(len(train) // self.batch_size)
        state = self._run(self._train_calls, train_state(self.model), train, order, ranges,
                          after_first_call=_mid_epoch_fault(slug) if wants("mid_epoch") else None)
        sync(self.model, *state)
        return floats(self.model.get_metrics_result())

    def test_epoch(self, validation: DeviceSplit) -> dict:
        self.model.reset_metrics()
        state = self._run(self._test_calls, test_state(self.model), validation, self._validation_order,
                          [(0, len(validation) // self.batch_size)])
        sync(self.model, metrics=state[2])
        return {f"val_{name}": value for name, value in floats(self.model.get_metrics_result()).items()}

    def _calls(self, steps: int) -> list[tuple[int, int]]:
        """The step ranges of an epoch's calls: one, unless something must look in between."""
        if not steps:
            return []
        if wants("mid_epoch") and steps > MID_EPOCH_STEP:
            return [(0, MID_EPOCH_STEP), (MID_EPOCH_STEP, steps)]
        if self.split_epochs:
            size = max(1, math.ceil(steps / CALLS_PER_EPOCH_UNDER_A_TIME_LIMIT))
            return [(begin, min(begin + size, steps)) for begin in range(0, steps, size)]
        return [(0, steps)]

    def fit(self, train: DeviceSplit, validation: DeviceSplit, epochs: int, callbacks: list, slug: str = "",
            initial_epoch: int = 0) -> None:
        """`model.fit` on data already on the device, with the same callbacks at the same points."""
        steps = math.ceil(len(train) / self.batch_size)
        callbacks = keras.callbacks.CallbackList(callbacks, model=self.model, epochs=epochs, steps=steps)
        self.model.stop_training = False
        callbacks.on_train_begin()
        logs = {}
        for epoch in range(initial_epoch, initial_epoch + epochs):
            callbacks.on_epoch_begin(epoch)
            logs = self.train_epoch(epoch, train, slug)
            callbacks.on_test_begin()
            val_logs = self.test_epoch(validation)
            callbacks.on_test_end(val_logs)
            logs = {**logs, **val_logs}
            callbacks.on_epoch_end(epoch, logs)
            if self.model.stop_training:
                break
        callbacks.on_train_end(logs)


def train_state(model) -> tuple:
    """What Keras's stateless train_step maps: trainable, non-trainable, optimizer and metrics values."""
    return ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
            [v.value for v in model.optimizer.variables], [v.value for v in model.metrics_variables])


def test_state(model) -> tuple:
    return ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
            [v.value for v in model.metrics_variables])


def sync(model, trainable=None, non_trainable=None, optimizer=None, metrics=None) -> None:
    """Values back into the model's variables, so that callbacks see what they see under fit()."""
    for variables, values in ((model.trainable_variables, trainable), (model.non_trainable_variables, non_trainable),
                              (model.optimizer.variables, optimizer), (model.metrics_variables, metrics)):
        for variable, value in zip(variables, values or []):
            variable.assign(value)


def prepare(model, batch_size: int, seed: int, shuffle: bool, time_limited: bool = False,
            whole_epoch_calls: bool | None = None) -> DeviceLoop:
    """A device loop for a compiled model, with its loss, metrics and optimizer variables made."""
    make_training_variables(model, batch_size)
    return DeviceLoop(model, batch_size, seed, shuffle, time_limited, whole_epoch_calls)


def _mid_epoch_fault(slug: str):
    def reach(state):
        import jax

        jax.block_until_ready(state)
        fault_point("mid_epoch", slug)

    return reach


def floats(logs: dict) -> dict:
    return {name: float(np.asarray(value)) for name, value in logs.items()}
