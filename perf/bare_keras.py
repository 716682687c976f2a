"""Bare Keras, no fer-bench: the same model, fit and evaluations as one fer-bench trial.

    python perf/bare_keras.py ARRAYS.npz SEED

ARRAYS.npz holds uint8 images and labels per split (written by perf/overhead.py from fer-bench's
own split, so both see the same images). Like fer-bench, it also scores the weights of the epoch
with the best validation accuracy when that is not the last epoch. Prints one JSON line with the
seconds from building the model to the last prediction, the span fer-bench records as
timing.total_s.
"""

import json
import sys
import time

import keras
import numpy as np
from keras import layers

EPOCHS, BATCH = 2, 64


def small_cnn():
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
    inputs = keras.Input((48, 48, 1))
    return keras.Model(inputs, body(layers.RandomFlip("horizontal")(inputs)))


class BestWeights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.best, self.epoch, self.weights = -1.0, 0, None

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] > self.best:
            self.best, self.epoch, self.weights = logs["val_accuracy"], epoch + 1, self.model.get_weights()


def main(path: str, seed: int) -> None:
    arrays = np.load(path)
    started = time.time()
    keras.utils.set_random_seed(seed)
    model = small_cnn()
    model.compile(optimizer=keras.optimizers.Adam(5e-4), loss="categorical_crossentropy", metrics=["accuracy"])
    x = {s: (arrays[f"x_{s}"].astype(np.float32) / 255.0)[..., None] for s in ("train", "val", "public", "private")}
    onehot = np.eye(7, dtype=np.float32)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=2, min_lr=1e-5)
    best = BestWeights()
    fit_started = time.time()
    model.fit(x["train"], onehot[arrays["y_train"]], validation_data=(x["val"], onehot[arrays["y_val"]]),
              batch_size=BATCH, epochs=EPOCHS, shuffle=True, callbacks=[best, plateau], verbose=0)
    fit_s = time.time() - fit_started
    accuracy = score(model, x, arrays)
    if best.epoch != EPOCHS:
        model.set_weights(best.weights)
        accuracy = score(model, x, arrays)
    print(json.dumps({"total_s": time.time() - started, "fit_s": fit_s, "accuracy": accuracy}))


def score(model, x, arrays) -> dict:
    return {s: float((model.predict(x[s], batch_size=256, verbose=0).argmax(1) == arrays[f"y_{s}"]).mean())
            for s in ("public", "private")}


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
