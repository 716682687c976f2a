"""Trials of one model shape trained as members of one compiled program (JAX, `training.loop: device`).

Each member is an ordinary compiled Keras model, built under its own seed, with its own optimizer and
callbacks. For an epoch the group stacks the members' states along a leading axis and runs the device
loop's own epoch pieces (DeviceLoop: order, gather, Keras's stateless `train_step`) for all of them in
one program: `jax.vmap` over the members on an accelerator, their steps side by side on a CPU (FORMS).
Each member draws its own shuffle from its own key and its own dropout masks and augmentation from its
own seed generators, exactly as alone. What a member may carry as a
value rather than a shape: its optimizer's state (the learning rate is one of its variables) and the
rates of fer-bench's ValueDropout layers.

Between epochs every member's state goes back into its model and its callbacks run as under `fit()`.
A member that stops (a callback, divergence, a time limit) is masked: it keeps its state while the
others train on, and `on_done` hands it over at once, to be scored and recorded.
"""

import functools
import math
import time

import keras

from fer_bench.faults import fault_point, wants
from fer_bench.models.layers import value_dropouts
from fer_bench.training.device_loop import DeviceLoop, DeviceSplit, floats, sync, test_state, train_state

# vmap: each layer's work for all members as one larger operation, what a card with idle units needs; on
# XLA:CPU a vmapped convolution takes a slower path (0.30-0.43x one member at a time, perf/group_forms.py).
# side_by_side: the members' steps one after another inside one program: one compile for all, and on a CPU
# 1.09x (3 members) to 1.19x (9) the training rate of one at a time.
FORMS = ("vmap", "side_by_side")


class GroupLoop:
    """The compiled group program for models of one shape, one batch size and one shuffle setting."""

    def __init__(self, models: list, seeds: list[int], batch_size: int, shuffle: bool, time_limited: bool = False,
                 whole_epoch_calls: bool | None = None, form: str | None = None):
        """`form`: how the members share the program, "vmap" (accelerators) or "side_by_side" (CPU), see FORMS."""
        import jax
        import jax.numpy as jnp

        self.form = form or ("side_by_side" if jax.default_backend() == "cpu" else "vmap")
        if self.form not in FORMS:
            raise ValueError(f"form {self.form!r}: allowed are {', '.join(FORMS)}")
        self.models, self.size = models, len(models)
        self.lone = DeviceLoop(models[0], batch_size, 0, shuffle, time_limited, whole_epoch_calls)
        self.keys = jax.random.wrap_key_data(jnp.stack([jax.random.key_data(jax.random.key(s)) for s in seeds]))
        self.dropouts = value_dropouts(models[0])
        self.rates = jnp.asarray([[layer.rate for layer in value_dropouts(m)] for m in models],
                                 jnp.float32).reshape(self.size, len(self.dropouts))
        self.compile_s = 0.0
        self.trained_images = 0
        self.train_s = 0.0

    @property
    def steps_per_call(self):
        return self.lone.steps_per_call

    # -- the compiled parts ------------------------------------------------------------------------
    def _valued(self, step, rates, state, data):
        """`step` traced with this member's dropout rates in the program model's ValueDropout layers."""
        kept = [layer.rate for layer in self.dropouts]
        for number, layer in enumerate(self.dropouts):
            object.__setattr__(layer, "rate", rates[number])
        try:
            return step(state, data)
        finally:
            for layer, rate in zip(self.dropouts, kept):
                object.__setattr__(layer, "rate", rate)

    def _grouped(self, body, step, state, rates, active, pixels, labels, orders, *bounds):
        """`body` (one of DeviceLoop's epoch pieces) for every member at once; a member not active keeps its state."""
        import jax
        import jax.numpy as jnp

        def member(member_state, member_rates, order):
            return body(functools.partial(self._valued, step, member_rates), member_state, pixels, labels, order,
                        *bounds)

        if self.form == "vmap":
            new = jax.vmap(member, in_axes=(0, 0, 0))(state, rates, orders)
        else:
            each = [member(self._member(state, i), rates[i], orders[i]) for i in range(self.size)]
            new = self._stacked(each)
        return jax.tree.map(lambda n, o: jnp.where(active.reshape(-1, *[1] * (n.ndim - 1)), n, o), new, state)

    def _compile_epoch(self, step, state, split: DeviceSplit, orders) -> dict:
        import jax
        import jax.numpy as jnp

        lone = self.lone
        full, tail = divmod(len(split), lone.batch_size)
        active = jnp.ones(self.size, bool)
        calls = {}
        if full:
            body = lone._range if lone.whole_epoch_calls else lone._at
            bounds = (0, full) if lone.whole_epoch_calls else (0,)
            calls["full"] = jax.jit(functools.partial(self._grouped, body, step)).lower(
                state, self.rates, active, split.pixels, split.labels, orders, *bounds).compile()
        if tail:
            def last(step, state, pixels, labels, order):
                return lone._tail(step, tail, state, pixels, labels, order)

            calls["tail"] = jax.jit(functools.partial(self._grouped, last, step)).lower(
                state, self.rates, active, split.pixels, split.labels, orders).compile()
        return calls

    def _stacked(self, states: list):
        import jax
        import jax.numpy as jnp

        return jax.tree.map(lambda *values: jnp.stack(values), *states)

    def compile(self, train: DeviceSplit, validation: DeviceSplit) -> float:
        import jax
        import jax.numpy as jnp

        began = time.perf_counter()
        self._orders_of = jax.jit(jax.vmap(lambda key, epoch, labels: self.lone._order(
            jax.random.fold_in(key, epoch), labels), in_axes=(0, None, None))).lower(
            self.keys, 0, train.labels).compile()
        self._validation_orders = jnp.broadcast_to(jnp.arange(len(validation)), (self.size, len(validation)))
        self._train_calls = self._compile_epoch(self.models[0].train_step,
                                                self._stacked([train_state(m) for m in self.models]), train,
                                                self._orders_of(self.keys, 0, train.labels))
        self._test_calls = self._compile_epoch(self.models[0].test_step,
                                               self._stacked([test_state(m) for m in self.models]), validation,
                                               self._validation_orders)
        self.compile_s = time.perf_counter() - began
        return self.compile_s

    # -- epochs ------------------------------------------------------------------------------------
    def _run(self, calls: dict, state, active: list[bool], split: DeviceSplit, orders, ranges, slug: str | None):
        """The epoch's calls; after each, a member whose callbacks asked to stop is masked from the next."""
        import jax
        import jax.numpy as jnp

        lone = self.lone
        for number, (start, stop) in enumerate(ranges):
            mask = jnp.asarray(active)
            if lone.whole_epoch_calls:
                state = calls["full"](state, self.rates, mask, split.pixels, split.labels, orders, start, stop)
            else:
                for i in range(start, stop):
                    state = calls["full"](state, self.rates, mask, split.pixels, split.labels, orders, i)
            if number == 0 and slug is not None and wants("mid_epoch"):
                jax.block_until_ready(state)
                fault_point("mid_epoch", slug)
            active = [a and not m.stop_training for a, m in zip(active, self.models)]
            if not any(active):
                return state
        if "tail" in calls:
            state = calls["tail"](state, self.rates, jnp.asarray(active), split.pixels, split.labels, orders)
        return state

    def _member(self, state, index: int):
        import jax

        return jax.tree.map(lambda value: value[index], state)

    def _train_epoch(self, epoch: int, train: DeviceSplit, active: list[bool], slug: str) -> list[dict | None]:
        for model, running in zip(self.models, active):
            if running:
                model.reset_metrics()
        state = self._stacked([train_state(m) for m in self.models])
        orders = self._orders_of(self.keys, epoch, train.labels)
        steps = len(train) // self.lone.batch_size
        began = time.perf_counter()
        state = self._run(self._train_calls, state, list(active), train, orders, self.lone._calls(steps), slug)
        logs = []
        for index, (model, running) in enumerate(zip(self.models, active)):
            if running:
                sync(model, *self._member(state, index))
                logs.append(floats(model.get_metrics_result()))
            else:
                logs.append(None)
        self.train_s += time.perf_counter() - began  # sync waited for the device
        self.trained_images += len(train) * sum(active)
        return logs

    def _test_epoch(self, validation: DeviceSplit, active: list[bool]) -> list[dict | None]:
        for model in self.models:
            model.reset_metrics()
        state = self._stacked([test_state(m) for m in self.models])
        state = self._run(self._test_calls, state, [True] * self.size, validation, self._validation_orders,
                          [(0, len(validation) // self.lone.batch_size)], None)
        logs = []
        for index, (model, running) in enumerate(zip(self.models, active)):
            if running:
                sync(model, metrics=self._member(state, index)[2])
                logs.append({f"val_{k}": v for k, v in floats(model.get_metrics_result()).items()})
            else:
                logs.append(None)
        return logs

    def throughput(self) -> float | None:
        """Training images per second of the whole group so far (every member's images)."""
        return round(self.trained_images / self.train_s, 1) if self.train_s else None

    def fit(self, train: DeviceSplit, validation: DeviceSplit, epochs: int, callbacks: list[list], slugs: list[str],
            on_done, initial_epoch: int = 0) -> None:
        """Every member's epochs with its own callbacks; `on_done(index)` as soon as a member stops."""
        steps = math.ceil(len(train) / self.lone.batch_size)
        lists = [keras.callbacks.CallbackList(c, model=m, epochs=epochs, steps=steps)
                 for c, m in zip(callbacks, self.models)]
        active = [True] * self.size
        last = [{} for _ in self.models]
        for model, callback in zip(self.models, lists):
            model.stop_training = False
            callback.on_train_begin()
        for epoch in range(initial_epoch, initial_epoch + epochs):
            for callback, running in zip(lists, active):
                if running:
                    callback.on_epoch_begin(epoch)
            train_logs = self._train_epoch(epoch, train, active, slugs[0])
            for callback, running in zip(lists, active):
                if running:
                    callback.on_test_begin()
            val_logs = self._test_epoch(validation, active)
            for index, callback in enumerate(lists):
                if not active[index]:
                    continue
                callback.on_test_end(val_logs[index])
                last[index] = {**train_logs[index], **val_logs[index]}
                callback.on_epoch_end(epoch, last[index])
                if self.models[index].stop_training:
                    active[index] = False
                    callback.on_train_end(last[index])
                    on_done(index)
            if not any(active):
                return
        for index, callback in enumerate(lists):
            if active[index]:
                callback.on_train_end(last[index])
                on_done(index)
