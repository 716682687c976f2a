"""Bare Keras, no fer-bench: the same model, fit and evaluations as one fer-bench trial.

    python perf/bare_keras.py ARRAYS.npz SEED [--epochs 2] [--no-flip] [--no-plateau]

ARRAYS.npz holds uint8 images and labels per split (written by perf/overhead.py from fer-bench's
own split, so both see the same images). Like fer-bench, it also scores the weights of the epoch
with the best validation accuracy when that is not the last epoch. Prints one JSON line with the
seconds from building the model to the last prediction (the span fer-bench records as
timing.total_s), of fit from its first callback to its return (fer-bench's timing.fit_s), and of
each epoch, validation included (fer-bench's history time_s).
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

    def on_train_begin(self, logs=None):
        self.fit_started = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_s.append(round(time.time() - self.epoch_started, 3))
        if logs["val_accuracy"] > self.best:
            self.best, self.epoch, self.weights = logs["val_accuracy"], epoch + 1, self.model.get_weights()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("arrays")
    parser.add_argument("seed", type=int)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--no-flip", dest="flip", action="store_false")
    parser.add_argument("--no-plateau", dest="plateau", action="store_false")
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
    model.fit(x["train"], onehot[arrays["y_train"]], validation_data=(x["val"], onehot[arrays["y_val"]]),
              batch_size=BATCH, epochs=args.epochs, shuffle=True, callbacks=callbacks, verbose=0)
    fit_s = time.time() - best.fit_started
    accuracy = score(model, x, arrays)
    if best.epoch != args.epochs:
        model.set_weights(best.weights)
        accuracy = score(model, x, arrays)
    print(json.dumps({"total_s": time.time() - started, "fit_s": fit_s, "epoch_s": best.epoch_s,
                      "accuracy": accuracy}))


def score(model, x, arrays) -> dict:
    return {s: float((model.predict(x[s], batch_size=256, verbose=0).argmax(1) == arrays[f"y_{s}"]).mean())
            for s in ("public", "private")}


if __name__ == "__main__":
    main()
