"""The seconds between epochs that tf.data's autotuner costs Keras's fit() on NumPy arrays.

    python perf/epoch_gap.py [--epochs 4] [--sleep 0.2] [--input arrays|fer-bench]

A model that costs next to nothing (average-pool, one dense layer) fits whole-train-split-sized
arrays (20,096 + 8,613 validation images of 48x48) while a callback sleeps --sleep seconds after
every batch: epochs last about as long as the small CNN's on a 2-core CPU (a minute or more), yet
the process leaves the CPU to whatever else runs. Per epoch it prints the seconds before the first
batch and from the last batch to validation, where Keras throws the epoch's iterator away and makes
the next: with `--input arrays` (Keras's pipeline as it is, autotuned) that waits for the
autotuner's thread; with `--input fer-bench` (fer_bench.training.inputs: the same pipeline, autotuner
off) it should not. Run both side by side to compare them under the same conditions.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from fer_bench.training.inputs import fit_inputs  # noqa: E402

TRAIN, VALIDATION, BATCH = 20096, 8613, 64


class Gaps(keras.callbacks.Callback):
    def __init__(self, label: str, sleep: float):
        super().__init__()
        self.label, self.sleep = label, sleep
        self.gaps: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started, self.first_batch = time.time(), None

    def on_train_batch_begin(self, batch, logs=None):
        if self.first_batch is None:
            self.first_batch = time.time() - self.started

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(self.sleep)
        self.last_batch = time.time()

    def on_test_begin(self, logs=None):
        self.to_validation = time.time() - self.last_batch

    def on_epoch_end(self, epoch, logs=None):
        self.gaps.append(self.first_batch + self.to_validation)
        print(f"{self.label} epoch {epoch + 1}: {time.time() - self.started:.1f} s; before the first batch "
              f"{self.first_batch:.2f} s; last batch to validation {self.to_validation:.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--sleep", type=float, default=0.2)
    parser.add_argument("--input", choices=("arrays", "fer-bench"), default="fer-bench")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x, x_val = rng.random((TRAIN, 48, 48, 1), dtype=np.float32), rng.random((VALIDATION, 48, 48, 1), dtype=np.float32)
    onehot = np.eye(7, dtype=np.float32)
    y, y_val = onehot[rng.integers(0, 7, TRAIN)], onehot[rng.integers(0, 7, VALIDATION)]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.AveragePooling2D(8), keras.layers.Flatten(),
                              keras.layers.Dense(7, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    data = fit_inputs(x, y, (x_val, y_val), BATCH, True) if args.input == "fer-bench" else \
        {"x": x, "y": y, "validation_data": (x_val, y_val), "batch_size": BATCH, "shuffle": True}
    gaps = Gaps(args.input, args.sleep)
    model.fit(**data, epochs=args.epochs, callbacks=[gaps], verbose=0)
    print(f"{args.input}: {sum(gaps.gaps):.2f} s between epochs in all, the longest {max(gaps.gaps):.2f} s")


if __name__ == "__main__":
    main()
