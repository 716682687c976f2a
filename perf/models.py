"""The two models the benchmarks time: the small 32-64-128 CNN and the study's model, compiled."""

from pathlib import Path

from fer_bench.spec.load import load_spec
from fer_bench.spec.trials import Overrides, expand

REPO = Path(__file__).resolve().parent.parent
MODELS = {
    "small_cnn": {"conv_filters": [32, 64, 128], "conv_kernels": [3, 3, 3], "dense_units": [128]},
    "study_cnn": {},
}


def bench_model(name: str, **compile_options):
    import keras

    from fer_bench.training.build import build_model

    trial = expand(load_spec(REPO / "benchmark" / "baseline.yaml"), Overrides(seeds=1))[0]
    trial.config["model"]["params"].update(MODELS[name])
    keras.utils.set_random_seed(0)
    model = build_model(trial.config)
    model.compile(optimizer=keras.optimizers.Adam(5e-4), loss="categorical_crossentropy", metrics=["accuracy"],
                  **compile_options)
    return model


def warmed_up_on_real_images(name: str, images: int):
    """`bench_model(name)` after one epoch on 128 images (its compilation outside any timing), the first
    `images` images of the study's train split (x, one-hot y), and those batches as a run's fit reads them
    (fer_bench/training/inputs.py: tf.data's autotuner off): (model, x, y, runner_inputs)."""
    import numpy as np

    from fer_bench.data.source import load_data, resolve_data_path
    from fer_bench.data.splits import study_splits
    from fer_bench.training.inputs import fit_inputs

    data = load_data(resolve_data_path(None))
    split = study_splits(data, 1302, max_train_samples=images)["train"]
    x, y = split.x(data), np.eye(7, dtype=np.float32)[split.y(data)]
    model = bench_model(name)
    inputs = fit_inputs(x, y, (x[:64], y[:64]), batch_size=64, shuffle=True)
    del inputs["validation_data"]
    model.fit(x[:128], y[:128], batch_size=64, epochs=1, verbose=0)
    return model, x, y, inputs
