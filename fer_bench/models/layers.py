"""Layers of fer-bench's own builders that a grouped program (training/group_loop.py) can vary per member."""

import random

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="fer_bench")
class ValueDropout(layers.Dropout):
    """Keras's Dropout, whose rate may also be a value traced into a compiled program, so that models
    that differ only in their dropout rates train as members of one program.

    At any rate it draws what Keras's Dropout draws, so a model trains as it did with Keras's layer.
    At rate 0 Keras's layer has no seed generator and a model without the layer draws nothing for it;
    here the generator is made without taking a number from Python's random stream, so the weights
    that follow are those of a model without dropout, and the layer is the identity in training too.
    """

    def __init__(self, rate, **kwargs):
        if rate:
            super().__init__(rate, **kwargs)
            return
        stream = random.getstate()
        super().__init__(0.5, **kwargs)  # makes the seed generator a grouped rate needs
        random.setstate(stream)
        self.rate = 0.0

    def call(self, inputs, training=False):
        if not training:
            return inputs
        if not isinstance(self.rate, (int, float)):
            return self._traced(inputs)
        if self.rate > 0:
            return keras.random.dropout(inputs, self.rate, noise_shape=self.noise_shape, seed=self.seed_generator)
        return inputs

    def _traced(self, inputs):
        """Keras's JAX dropout with the rate a float32 value: the same mask draws (bernoulli in float32, as
        for a Python rate), and the scaling as a multiplication by the reciprocal in the input's dtype, which is
        what XLA makes of Keras's division by a constant: a grouped member rounds as it does alone."""
        import jax
        import jax.numpy as jnp
        from keras.src.backend.jax.random import jax_draw_seed

        keep = 1.0 - jnp.asarray(self.rate, jnp.float32)
        shape = inputs.shape if self.noise_shape is None else tuple(
            inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        mask = jnp.broadcast_to(jax.random.bernoulli(jax_draw_seed(self.seed_generator), p=keep, shape=shape),
                                inputs.shape)
        return jax.lax.select(mask, inputs * (1.0 / keep).astype(inputs.dtype), jnp.zeros_like(inputs))


def value_dropouts(model) -> list[ValueDropout]:
    """The model's ValueDropout layers, nested models included, in a fixed order."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, ValueDropout)]
