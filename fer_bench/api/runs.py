"""`fer_bench.run` and `fer_bench.plan`: `fer-bench run` and `fer-bench list` from Python."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from fer_bench.api.bars import progress_kind
from fer_bench.api.specs import SpecLike, spec_paths
from fer_bench.errors import UserError
from fer_bench.models import BUILDERS, Builder
from fer_bench.models.sources import as_builders
from fer_bench.spec.trials import Overrides

if TYPE_CHECKING:
    import pandas

# The overrides as the CLI spells them (fer_bench/cli/arguments.py), by keyword
FLAGS = {"epochs": "--epochs", "max_train_samples": "--max-train-samples", "max_eval_samples": "--max-eval-samples",
         "seeds": "--seeds", "trial_timeout": "--trial-timeout", "budget": "--budget", "loop": "--loop",
         "max_trials": "--max-trials", "precision": "--precision", "search_seed": "--search-seed",
         "together": "--together", "corruptions": "--corruptions"}


def run(spec: SpecLike | list[SpecLike], *, data: str | os.PathLike | None = None, out: str | os.PathLike = "results",
        models: Mapping[str, Callable | Builder] | None = None, only: str | None = None, rerun: bool = False,
        device: Literal["auto", "cpu", "gpu"] = "auto", progress: Literal["auto", "bar", "lines", "off"] = "auto",
        epochs: int | None = None, seeds: int | None = None, max_train_samples: int | None = None,
        max_eval_samples: int | None = None, trial_timeout: float | None = None, budget: float | None = None,
        loop: Literal["fit", "device"] | None = None, together: int | Literal["auto", "off"] | None = None,
        precision: str | None = None, max_trials: int | None = None,
        search_seed: int | None = None, corruptions: Literal["on", "off"] | None = None) -> pandas.DataFrame:
    """Train every trial of the spec(s) that has no record yet, as `fer-bench run` does, and return the
    records of those specs, one row per trial (`fer_bench.load_records`'s columns). A trial that fails,
    diverges or times out does not raise: its row says so (`status`, `error`). The records' times
    "since process start" count from this call, not from the (notebook's) process start.

    Args:
        spec: a spec file, a shipped spec's name (`"dropout"`), a dict in the spec's YAML layout (written
            to `OUT/NAME/spec.yaml` and run from there), or a list of these.
        data: FER-2013 (`--data`); by default the spec's `dataset.source`, else `$FER_BENCH_DATA`, else
            the bundled sample.
        out: the results folder (`--out`).
        models: builders for this call only, by the name a spec's `model.builder` gives: a callable
            called with the spec's `model.params` as keyword arguments, returning an uncompiled Keras
            model from (48, 48, 1) to 7 softmax outputs; or a `fer_bench.Builder`.
        only: a subset: trial ids matching this glob (sweeps), strategies matching it (searches).
        rerun: train again trials that have a record.
        device: `"auto"`, `"cpu"` or `"gpu"`, as `--device`.
        progress: `"bar"` (tqdm's, a notebook widget in Jupyter), `"lines"` (the CLI's), `"off"`, or
            `"auto"`: a bar in a notebook, lines elsewhere.
        epochs: override `training.epochs`.
        seeds: run seeds 0..N-1 instead of the spec's.
        max_train_samples: a stratified subset of the train split.
        max_eval_samples: a stratified subset of validation, PublicTest and PrivateTest each.
        trial_timeout: override `training.timeout_s` (seconds).
        budget: override `training.budget_s` (seconds).
        loop: override `training.loop`.
        together: override `training.together`: a group size, `"auto"` or `"off"`.
        precision: override `training.mixed_precision`.
        max_trials: searches: each strategy proposes at most this many trials.
        search_seed: searches: override `search.seed`.
        corruptions: override `training.corruptions`: `"on"` also scores FER-2013-C.

    Returns:
        The records of the specs' results folders, one row per trial.

    Raises:
        fer_bench.UserError: a mistake in what was given (spec, data, models, values); nothing is trained.
        fer_bench.WriteError: records could not be written; every record written before is intact.
        KeyboardInterrupt: as Ctrl-C on the CLI; every finished trial keeps its record.
    """
    # A notebook's kernel may have started hours ago: the call is this run's start.
    called_at = time.time()
    from fer_bench.report.frames import report_records, trials_frame
    from fer_bench.scheduling.local import run_specs

    out = Path(out)
    values = {"epochs": epochs, "max_train_samples": max_train_samples, "max_eval_samples": max_eval_samples,
              "seeds": seeds, "trial_timeout": trial_timeout, "budget": budget, "loop": loop, "max_trials": max_trials,
              "precision": precision, "search_seed": search_seed, "together": together,
              "corruptions": corruptions}
    overrides = Overrides.checked(**values)
    paths = spec_paths(spec, out)
    command = ["fer-bench", "run", *paths, "--out", str(out), *(["--data", str(data)] if data else []),
               *[token for key, value in values.items() if value is not None for token in (FLAGS[key], str(value))]]
    with BUILDERS.registered(as_builders(models), "models"):
        finished = run_specs(paths, os.fspath(data) if data else None, overrides, out, device, rerun,
                             quiet=progress == "off", command=command, only=only, progress=progress_kind(progress),
                             clock_start=called_at)
    folders = [out / name for name in finished.spec_names]
    return trials_frame(report_records([folder for folder in folders if folder.is_dir()]))


def plan(spec: SpecLike | list[SpecLike], *, data: str | os.PathLike | None = None,
         out: str | os.PathLike = "results", models: Mapping[str, Callable | Builder] | None = None,
         only: str | None = None, **overrides) -> pandas.DataFrame:
    """What `fer-bench list` shows, as a table: one row per trial known before the run (a sweep's, a
    search's grid points) with its state in `out`, size, epochs, estimated seconds and parameters; per
    oracle strategy of a search, a row without `trial_id` counting the trials it will propose. Nothing
    is trained. `overrides`: as `run`'s keywords (epochs=, seeds=, ...)."""
    import pandas as pd

    from fer_bench.scheduling.plan import plan_rows, plan_specs

    out = Path(out)
    unknown = sorted(set(overrides) - set(FLAGS))
    if unknown:
        raise UserError(f"plan: unknown override {unknown[0]!r}; allowed: {', '.join(FLAGS)}")
    with BUILDERS.registered(as_builders(models), "models"):
        planned = plan_specs(spec_paths(spec, out), os.fspath(data) if data else None,
                             Overrides.checked(**overrides), only)
        return pd.DataFrame(plan_rows(planned, out))
