"""The device loop against Keras fit() on the same model, data, batch and epochs, under JAX; one JSON
line on stdout with images/s of each (after compilation), the ratio device/fit and the compile time.

    KERAS_BACKEND=jax python perf/device_loop.py small_cnn 4096 3 [--batch 64] [--dtype bfloat16]

Rounds alternate which path goes first; each round trains one epoch on each path and validates on
1,024 images, as a trial does. Images/s counts training images over the whole epoch (validation
included), the median of the rounds.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

VALIDATION_IMAGES = 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=("small_cnn", "study_cnn"))
    parser.add_argument("images", type=int)
    parser.add_argument("rounds", type=int)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--dtype", default="float32", help="float32, mixed_bfloat16 or mixed_float16")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    args = parser.parse_args()

    from fer_bench.training.backend import start_backend

    device = start_backend(args.device)
    import keras
    import numpy as np
    from models import bench_model

    from fer_bench.data.source import load_data, resolve_data_path
    from fer_bench.data.splits import study_splits
    from fer_bench.training.device_loop import DeviceSplit, prepare

    if keras.backend.backend() != "jax":
        raise SystemExit("the device loop runs on JAX: set KERAS_BACKEND=jax")
    keras.config.set_dtype_policy(args.dtype)
    data = load_data(resolve_data_path(None))
    splits = study_splits(data, 1302, max_train_samples=args.images, max_eval_samples=VALIDATION_IMAGES)
    train, validation = splits["train"], splits["validation"]
    onehot = np.eye(7, dtype=np.float32)
    x, y = train.x(data), onehot[train.y(data)]
    xv, yv = validation.x(data), onehot[validation.y(data)]
    on_device = DeviceSplit.put(data, train), DeviceSplit.put(data, validation)

    models = {"fit": bench_model(args.model), "device": bench_model(args.model)}
    compile_s = {}
    started = time.perf_counter()
    models["fit"].fit(x, y, validation_data=(xv, yv), batch_size=args.batch, epochs=1, verbose=0)
    compile_s["fit"] = time.perf_counter() - started  # its first epoch: tracing, compiling and training
    loop = prepare(models["device"], args.batch, seed=0, shuffle=True)
    compile_s["device"] = loop.compile(*on_device)
    epochs = iter(range(args.rounds))

    def fit_epoch():
        models["fit"].fit(x, y, validation_data=(xv, yv), batch_size=args.batch, epochs=1, verbose=0)

    def device_epoch():
        loop.fit(*on_device, epochs=1, callbacks=[], initial_epoch=next(epochs))

    seconds = {"fit": [], "device": []}
    for round_number in range(args.rounds):
        order = [("fit", fit_epoch), ("device", device_epoch)]
        for name, epoch in order if round_number % 2 == 0 else order[::-1]:
            began = time.perf_counter()
            epoch()
            seconds[name].append(time.perf_counter() - began)
    rate = {name: round(len(x) / statistics.median(s), 1) for name, s in seconds.items()}
    print(json.dumps({"backend": "jax", "device": device["name"], "model": args.model, "images": len(x),
                      "batch": args.batch, "dtype": args.dtype,
                      "epoch_s": {k: [round(s, 3) for s in v] for k, v in seconds.items()},
                      "images_per_s": rate, "ratio_device_over_fit": round(rate["device"] / rate["fit"], 3),
                      "compile_s": {"device": round(compile_s["device"], 2),
                                    "fit_first_epoch": round(compile_s["fit"], 2)}}))


if __name__ == "__main__":
    main()
