"""Bare Keras, no fer-bench: the same model, fit and evaluations as one fer-bench trial.

    python perf/bare_keras.py ARRAYS.npz SEED [--epochs 2] [--no-flip] [--no-plateau] [--autotune-off]

ARRAYS.npz holds uint8 images and labels per split (written by perf/overhead.py from fer-bench's
own split, so both see the same images). Like fer-bench, it also scores the weights of the epoch
with the best validation accuracy when that is not the last epoch. Prints one JSON line with the
seconds from building the model to the last prediction (the span fer-bench records as
timing.total_s), of fit from its first callback to its return (fer-bench's timing.fit_s), and of
each epoch, validation included (fer-bench's history time_s), with the CPU seconds the process used
in each (fer-bench's history cpu_s) and the Unix time at which each ended.

By default fit and predict get the arrays, as a Keras user writes it. `--autotune-off` feeds them
through Keras's own array pipeline with tf.data's autotuner off, written out here as a user would
(the same few lines as fer_bench/training/inputs.py, which this script must not import): the same
batches in the same order, so the ratio against fer-bench is the runner's own cost alone.
"""

import argparse
import json
import time

import keras
import numpy as np
from keras import layers

BATCH = 64


def small_cnn(flip: bool):
    # Built in fer-bench's order (the network, then the augmentation in front of it): layers draw
    # their seeds in creation order, so the same seed then trains the very same model.
    body_in = keras.Input((48, 48, 1))
    y = body_in
    for filters in (32, 64, 128):
        y = layers.Conv2D(filters, 3, padding="same")(y)
        y = layers.BatchNormalization()(y)
        y = layers.Activation("relu")(y)
        y = layers.MaxPooling2D(2)(y)
        y = layers.Dropout(0.25)(y)
    y = layers.Flatten()(y)
    y = layers.Dense(128)(y)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    y = layers.Dropout(0.25)(y)
    y = layers.Dense(7, activation="softmax", dtype="float32")(y)
    body = keras.Model(body_in, y)
    if not flip:
        return body
    inputs = keras.Input((48, 48, 1))
    return keras.Model(inputs, body(layers.RandomFlip("horizontal")(inputs)))


class BestWeights(keras.callbacks.Callback):
    """The best epoch's weights, and the clock: fit from its first callback, and every epoch."""

    def __init__(self):
        super().__init__()
        self.best, self.epoch, self.weights = -1.0, 0, None
        self.fit_started, self.epoch_started, self.epoch_s = 0.0, 0.0, []
        self.epoch_cpu, self.epoch_cpu_s, self.epoch_end_at = 0.0, [], []

    def on_train_begin(self, logs=None):
        self.fit_started = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.time()
        self.epoch_cpu = time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_end_at.append(time.time())
        self.epoch_s.append(round(self.epoch_end_at[-1] - self.epoch_started, 3))
        self.epoch_cpu_s.append(round(time.process_time() - self.epoch_cpu, 3))
        if logs["val_accuracy"] > self.best:
            self.best, self.epoch, self.weights = logs["val_accuracy"], epoch + 1, self.model.get_weights()


def tf_data(arrays: tuple, batch_size: int, shuffle: bool):
    import tensorflow as tf
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    adapter = ArrayDataAdapter(*arrays, batch_size=batch_size, shuffle=shuffle)
    options = tf.data.Options()
    options.autotune.enabled = False
    length = tf.data.experimental.assert_cardinality(adapter.num_batches)
    return adapter.get_tf_dataset().apply(length).with_options(options)


def fit_inputs(x, y, validation, autotune_off: bool) -> dict:
    if not autotune_off:
        return {"x": x, "y": y, "validation_data": validation, "batch_size": BATCH, "shuffle": True}
    return {"x": tf_data((x, y), BATCH, True), "validation_data": tf_data(validation, BATCH, False), "shuffle": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("arrays")
    parser.add_argument("seed", type=int)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--no-flip", dest="flip", action="store_false")
    parser.add_argument("--no-plateau", dest="plateau", action="store_false")
    parser.add_argument("--autotune-off", action="store_true", help="Keras's array pipeline, tf.data autotuner off")
    args = parser.parse_args()
    arrays = np.load(args.arrays)
    started = time.time()
    keras.utils.set_random_seed(args.seed)
    model = small_cnn(args.flip)
    model.compile(optimizer=keras.optimizers.Adam(5e-4), loss="categorical_crossentropy", metrics=["accuracy"])
    x = {s: (arrays[f"x_{s}"].astype(np.float32) / 255.0)[..., None] for s in ("train", "val", "public", "private")}
    onehot = np.eye(7, dtype=np.float32)
    best = BestWeights()
    callbacks = [best]
    if args.plateau:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=2, min_lr=1e-5))
    model.fit(**fit_inputs(x["train"], onehot[arrays["y_train"]], (x["val"], onehot[arrays["y_val"]]),
                           args.autotune_off), epochs=args.epochs, callbacks=callbacks, verbose=0)
    fit_s = time.time() - best.fit_started
    accuracy = score(model, x, arrays, args.autotune_off)
    if best.epoch != args.epochs:
        model.set_weights(best.weights)
        accuracy = score(model, x, arrays, args.autotune_off)
    print(json.dumps({"total_s": time.time() - started, "fit_s": fit_s, "epoch_s": best.epoch_s,
                      "epoch_cpu_s": best.epoch_cpu_s, "epoch_end_at": best.epoch_end_at, "accuracy": accuracy}))


def score(model, x, arrays, autotune_off: bool) -> dict:
    def predict(images):
        if autotune_off:
            return model.predict(tf_data((images,), 256, False), verbose=0)
        return model.predict(images, batch_size=256, verbose=0)

    return {s: float((predict(x[s]).argmax(1) == arrays[f"y_{s}"]).mean()) for s in ("public", "private")}


if __name__ == "__main__":
    main()
