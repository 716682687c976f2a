"""Learning-rate schedules stepped every batch: cosine (with warm-up) and one-cycle."""

import math

import keras


@keras.saving.register_keras_serializable(package="fer_bench")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Smith's one-cycle: from peak/25 up to the peak over the first `warmup` share of the steps,
    then down to peak/10^4 along a half cosine."""

    def __init__(self, peak: float, total_steps: int, warmup: float = 0.3):
        self.peak, self.total_steps, self.warmup = peak, total_steps, warmup

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        rise = max(1.0, self.warmup * self.total_steps)
        fall = max(1.0, self.total_steps - rise)
        start, end = self.peak / 25.0, self.peak / 1e4
        up = start + (self.peak - start) * step / rise
        progress = ops.minimum((step - rise) / fall, 1.0)
        down = end + (self.peak - end) * 0.5 * (1.0 + ops.cos(math.pi * progress))
        return ops.where(step < rise, up, down)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup": self.warmup}


def make_schedule(spec: dict | None, learning_rate: float, steps_per_epoch: int, epochs: int):
    """The optimizer's learning rate: the spec's constant rate, or a schedule over every step."""
    if spec is None:
        return learning_rate
    total = steps_per_epoch * epochs
    if spec["name"] == "one_cycle":
        return OneCycle(learning_rate, total, warmup=0.3 if spec["warmup"] is None else spec["warmup"])
    warmup = round(total * (spec["warmup"] or 0.0))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate / 25.0 if warmup else learning_rate, decay_steps=max(1, total - warmup),
        alpha=spec["min_fraction"], warmup_target=learning_rate if warmup else None, warmup_steps=warmup)
