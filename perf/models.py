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
