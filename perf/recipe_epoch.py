"""Where a CPU's time goes in one epoch of a spec's first trial (by default the CPU recipe,
benchmark/cpu_time_to_accuracy.yaml): the input pipeline alone, the augmentation layers alone, a whole
training epoch (which includes both), and the validation pass; plus the start-up before the first epoch
(imports, the data, the model). Prints a table and a last JSON line.

    FER_BENCH_DATA=... python perf/recipe_epoch.py [SPEC] [--precision auto]
"""

import argparse
import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(REPO / "benchmark" / "cpu_time_to_accuracy.yaml"))
    args = parser.parse_args()
    from fer_bench.progress import process_start_time

    process_start = process_start_time()
    from fer_bench.training.backend import start_backend

    started = time.perf_counter()
    device = start_backend("cpu")  # imports Keras and its backend, with fer-bench's filter on their notices
    imports = time.perf_counter() - started
    import keras
    import numpy as np

    from fer_bench.data.source import load_data, resolve_data_path
    from fer_bench.data.splits import study_splits
    from fer_bench.spec.load import load_spec
    from fer_bench.spec.trials import Overrides, expand
    from fer_bench.training import precision
    from fer_bench.training.augment import augmentation_layers
    from fer_bench.training.build import build
    from fer_bench.training.inputs import fit_inputs, predict

    config = expand(load_spec(Path(args.spec)), Overrides())[0].config
    training = config["training"]
    policy = precision.choose(training["mixed_precision"], keras.backend.backend(), device)
    keras.config.set_dtype_policy(policy["chosen"])
    started = time.perf_counter()
    data = load_data(resolve_data_path(None))
    splits = study_splits(data, config["dataset"]["split_seed"])
    x, y = splits["train"].x(data), np.eye(7, dtype=np.float32)[splits["train"].y(data)]
    xv, yv = splits["validation"].x(data), np.eye(7, dtype=np.float32)[splits["validation"].y(data)]
    data_s = time.perf_counter() - started
    batch = training["batch_size"]
    started = time.perf_counter()
    built = build(config, (x, y), (xv, yv))
    model_s = time.perf_counter() - started
    ready = time.time() - process_start
    inputs = {**fit_inputs(x, y, (xv, yv), batch, training["shuffle"]), "validation_data": None}
    # On JAX and torch fit reads the arrays themselves: no pipeline to time there.
    pipeline_s = 0.0 if isinstance(inputs["x"], np.ndarray) else timed(lambda: sum(1 for _ in inputs["x"]))
    layers = augmentation_layers(training["augmentation"])

    def augment():
        for start in range(0, len(x), batch):
            images = x[start:start + batch]
            for layer in layers:
                images = layer(images, training=True)

    augment()  # its first call traces
    augmentation_s = timed(augment)
    built.model.fit(x[:2 * batch], y[:2 * batch], batch_size=batch, epochs=1, verbose=0)  # compile outside
    epoch_s = timed(lambda: built.model.fit(**inputs, epochs=1, verbose=0))
    predict(built.model, xv[:batch], batch)
    validation_s = timed(lambda: predict(built.model, xv, batch))
    found = {"spec": Path(args.spec).name, "precision": policy["chosen"], "train_images": len(x),
             "validation_images": len(xv), "batch_size": batch,
             "start_up": {"process_start_to_model_s": round(ready, 2), "imports_s": round(imports, 2),
                          "data_s": round(data_s, 2), "model_s": round(model_s, 2)},
             "epoch": {"training_s": round(epoch_s, 2), "of_which_pipeline_alone_s": round(pipeline_s, 2),
                       "of_which_augmentation_alone_s": round(augmentation_s, 2),
                       "validation_s": round(validation_s, 2)},
             "train_images_per_s": round(len(x) / epoch_s, 1)}
    print(f"{found['spec']}, {policy['chosen']}, batch {batch}: {len(x):,} train and {len(xv):,} validation images")
    print(f"  start-up: {ready:.1f} s from the process's start to a built model (imports {imports:.1f} s, "
          f"data {data_s:.1f} s, model {model_s:.1f} s)")
    print(f"  an epoch: training {epoch_s:.1f} s ({len(x) / epoch_s:.0f} images/s), of which the input pipeline "
          f"alone takes {pipeline_s:.1f} s and the augmentation layers alone {augmentation_s:.1f} s; "
          f"validation {validation_s:.1f} s")
    print(json.dumps(found))


if __name__ == "__main__":
    main()
