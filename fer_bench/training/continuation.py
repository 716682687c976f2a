"""A Hyperband trial continued from an earlier one: its weights loaded before training, and the weights
of a trial that a later round may continue kept beside its record.

Keras Tuner's Hyperband tuner does the same: the model is built and compiled afresh (a new optimizer),
the earlier trial's weights are loaded, and fit() runs from `initial_epoch` to the rung's epochs. Only
the model's variables are kept (layers and batch-norm statistics, as `get_weights` gives them): the
optimizer's state, two to three times their size, would be thrown away on loading.
"""

from pathlib import Path

import numpy as np

from fer_bench.spec.trials import Trial

WEIGHTS = "weights.npz"
SEED_STRIDE = 1_000_003  # a prime above any seed count a spec may ask for


def rung_of(trial: Trial) -> dict | None:
    return (trial.search or {}).get("rung")


def initial_epoch(trial: Trial) -> int:
    """The epoch training starts from: the earlier trial's last one for a continued trial, else 0."""
    rung = rung_of(trial)
    return rung["initial_epoch"] if rung and rung["continued_from"] else 0


def random_seed(trial: Trial) -> int:
    """The seed of a trial's shuffles, dropout masks and augmentation. A continued trial gets its own: under
    the trial's seed it would draw again, batch for batch, what the earlier trial drew in its first epochs,
    and its first epoch would score those batches the weights have just fitted (measured: a training loss
    of 1.66 on random labels, where the uninterrupted run scores 2.31)."""
    return trial.seed + SEED_STRIDE * initial_epoch(trial)


def epochs_to_train(trial: Trial) -> int:
    return trial.config["training"]["epochs"] - initial_epoch(trial)


def load_earlier(model, trial: Trial, out_dir: Path) -> None:
    """The weights of the trial this one continues (a sibling folder of the same spec), if it continues one."""
    rung = rung_of(trial)
    if not rung or not rung["continued_from"]:
        return
    path = out_dir.parent / rung["continued_from"] / WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"cannot continue {rung['continued_from']}: its weights {path} are gone (kept for the "
                                "rounds that continue it); delete that trial's folder to train it again")
    with np.load(path) as kept:
        model.set_weights([kept[f"arr_{i}"] for i in range(len(kept.files))])


def keep_weights(model, trial: Trial, out_dir: Path) -> None:
    """The trained weights, where a later round of the same bracket may continue from them."""
    rung = rung_of(trial)
    if rung and rung["round"] < rung["bracket"]:
        out_dir.mkdir(parents=True, exist_ok=True)
        np.savez(out_dir / WEIGHTS, *model.get_weights())
