"""One trial, in its phases: open the record, build, train, score, write. A failure is recorded, not raised."""

import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import keras

from fer_bench.data.audit import summarize as audit_summary
from fer_bench.data.formats import FERData
from fer_bench.data.splits import Split
from fer_bench.faults import fault_point
from fer_bench.progress import Progress
from fer_bench.records import FORMAT_VERSION, RECORD, time_to_accuracy
from fer_bench.search.summary import search_block
from fer_bench.spec.schema import LoadedSpec
from fer_bench.spec.trials import Trial
from fer_bench.storage import write_json_atomic
from fer_bench.training import continuation, precision
from fer_bench.training.arrays import ArrayCache
from fer_bench.training.backend import set_random_seed
from fer_bench.training.build import build, compilation, model_summary
from fer_bench.training.fitting import Trained, monitor_for, train, verdict
from fer_bench.training.memory import MemoryWatch
from fer_bench.training.scoring import score


@dataclass(frozen=True)
class RunContext:
    """What a run hands every trial it trains."""

    env: dict  # the record's environment, less the trial's data fingerprint and seed
    progress: Progress
    command: list[str] | None
    process_start: float
    tensorboard: bool = False  # `run --tensorboard`: event files in the trial's folder (TensorFlow)
    tracker: object | None = None  # `run --wandb`: start(record), callback(monitor), finish(record)


@dataclass(frozen=True)
class TrialInputs:
    """One trial and what it trains and is scored on."""

    trial: Trial
    trial_id: str
    loaded: LoadedSpec
    data: FERData
    splits: dict[str, Split]
    arrays: ArrayCache
    audit: dict
    dropped_from_training: dict | None
    out_dir: Path
    search: dict | None = None  # where a search trial stands in its search (search.summary.search_block)


def run_trial(inputs: TrialInputs, run: RunContext) -> dict:
    """Train and score one trial and write its record; a failure is recorded, not raised."""
    started = time.time()
    trial, training = inputs.trial, inputs.trial.config["training"]
    record = open_record(inputs, run, started)
    run.progress.start_trial(trial.slug, continuation.epochs_to_train(trial), continuation.initial_epoch(trial))
    monitor, detail, trained = None, None, Trained()
    memory = MemoryWatch().start()
    if run.tracker is not None:
        run.tracker.start(record)
    try:
        set_random_seed(continuation.random_seed(trial))
        record["precision"] = precision.choose(training["mixed_precision"], run.env["backend"], run.env["device"])
        keras.config.set_dtype_policy(record["precision"]["chosen"])
        fault_point("build", trial.slug)
        built = build(trial.config, inputs.arrays.get(inputs.splits["train"]),
                      inputs.arrays.get(inputs.splits["validation"]))
        continuation.load_earlier(built.model, trial, inputs.out_dir)
        record["model"] = model_summary(trial.config, built.model)
        record["compilation"] = compilation(built.model, training)
        monitor = monitor_for(built, inputs, run)
        try:
            train(built, monitor, inputs, run, trained)
        finally:
            record["compilation"].update(trained.compilation)
            if trained.tensorboard_dir:
                record["tensorboard_dir"] = trained.tensorboard_dir
        record["history"] = monitor.history
        record["time_to_accuracy"] = time_to_accuracy(monitor.history)
        if monitor.budget_stop:
            record["stopped_by_budget"] = {"epoch": monitor.budget_stop, "budget_s": training["budget_s"]}
        status, said = verdict(monitor, training)
        record.update(said)
        eval_s = None
        if status == "complete":
            continuation.keep_weights(built.model, trial, inputs.out_dir)  # the last epoch's, before scoring
            eval_start = time.time()
            record.update(score(built.model, monitor, inputs, (built.x_val, built.y_val)))
            eval_s = time.time() - eval_start
        record["status"] = status
        record["timing"] = trial_timing(monitor.history, len(inputs.splits["train"].indices), started,
                                        trained.fit_s, eval_s)
    except Exception as exc:  # the run goes on; the record and error.log say what happened
        record["status"] = "failed"
        record["error"] = f"{exc.__class__.__name__}: {exc}".splitlines()[0][:500]
        detail = traceback.format_exc()
        if monitor is not None:
            record["history"] = monitor.history
        record["timing"] = {"total_s": round(time.time() - started, 3)}
    finally:
        trained_epochs = len(monitor.history) if monitor is not None else 0
        run.progress.skip_epochs(continuation.epochs_to_train(trial) - trained_epochs)
        record["memory"] = memory.stop()
        keras.backend.clear_session()
    record = write_record(record, inputs, detail)
    if run.tracker is not None:
        run.tracker.finish(record)
    return record


def open_record(inputs: TrialInputs, run: RunContext, started: float) -> dict:
    """What a record says before training: the trial, its spec, its data, the environment."""
    trial, data, splits = inputs.trial, inputs.data, inputs.splits
    dataset = trial.config["dataset"]
    return {
        "format_version": FORMAT_VERSION,
        "spec": trial.spec_name,
        "trial_id": inputs.trial_id,
        "variant": trial.variant,
        "params": trial.params,
        "seed": trial.seed,
        "status": "failed",
        "config": trial.config,
        "overrides": trial.overrides,
        "spec_file": str(inputs.loaded.path),
        "spec_sha256": inputs.loaded.sha256,
        "spec_content": inputs.loaded.text,
        "data": {**data.describe(), "split_seed": trial.split_seed, **{k: dataset[k] for k in (
            "validation_fraction", "max_train_samples", "max_eval_samples", "drop_test_duplicates",
            "drop_blank", "protocol")},
                 "dropped_from_training": inputs.dropped_from_training,
                 "audit": audit_summary(inputs.audit, data, splits["train"].indices, splits["validation"].indices),
                 "n": {name: int(len(s.indices)) for name, s in splits.items()}},
        "environment": {**run.env, "data_fingerprint": data.fingerprint, "seed": trial.seed},
        "command": run.command,
        "started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
    }


def write_record(record: dict, inputs: TrialInputs, detail: str | None) -> dict:
    """The finished record on disk (and error.log beside it when the trial did not complete)."""
    out_dir = inputs.out_dir
    if record["status"] != "complete":
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "error.log").write_text(detail or record["error"] + "\n", encoding="utf-8")
    if inputs.search:
        record["search"] = search_block(inputs.search, record)
        if rung := continuation.rung_of(inputs.trial):  # with the seed its shuffles and masks came from
            record["search"]["rung"] = {**rung, "random_seed": continuation.random_seed(inputs.trial)}
    record["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_json_atomic(out_dir / RECORD, record, before_rename=lambda: fault_point("write", inputs.trial.slug))
    return record


def trial_timing(history: list[dict], n_train: int, started: float, fit_s: float, eval_s: float | None) -> dict:
    train_s = [h["train_s"] for h in history]
    steady = train_s[1:] or train_s
    return {
        "total_s": round(time.time() - started, 3),
        "fit_s": round(fit_s, 3),
        "eval_s": round(eval_s, 3) if eval_s is not None else None,
        "seconds_per_epoch": round(sum(h["time_s"] for h in history) / len(history), 3) if history else None,
        "train_images_per_s": round(n_train * len(train_s) / sum(train_s), 1) if train_s else None,
        # The first epoch includes tracing and compilation; later epochs show the steady rate.
        "steady_train_images_per_s": round(n_train * len(steady) / sum(steady), 1) if steady else None,
    }
