"""The compiled model's own variables (loss trackers, metrics, optimizer slots), made before training.

Keras makes them on the first training step when it can: under TensorFlow that step is being
traced as a tf.function, and a function that makes variables while traced is traced a second time.
For a small model that second trace cost more than the training itself (a tiny CNN's trial: fit 5.0 s
with it, 2.1 s without, the same losses). Made up front, as fit() does on JAX, the first trace is the
only one; the device loop needs them before its first compiled call for the same reason.
"""

import numpy as np

from fer_bench.data.formats import EMOTIONS
from fer_bench.models.base import INPUT_SHAPE


def make_training_variables(model, batch_size: int) -> None:
    """For a compiled model whose input is INPUT_SHAPE (build_model checks it; a subclassed model has no
    `inputs` to ask)."""
    sample = np.zeros((batch_size, *INPUT_SHAPE), np.float32)
    model._symbolic_build(data_batch=(sample, np.zeros((batch_size, len(EMOTIONS)), np.float32)))
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
