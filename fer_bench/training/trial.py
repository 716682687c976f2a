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
from fer_bench.training import compile_cache, continuation, precision
from fer_bench.training.arrays import ArrayCache
from fer_bench.training.backend import set_random_seed
from fer_bench.training.build import build, compilation, model_summary
from fer_bench.training.fitting import Trained, make_callbacks, monitor_for, train, verdict
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
    trial = TrialRun(inputs, run)
    trial.attempt(trial.build)
    trial.attempt(trial.train_alone)
    trial.attempt(trial.conclude)
    return trial.close()


class TrialRun:
    """One trial in its phases, each tried in turn until one fails: open the record (here), build, train
    (alone, or as a member of a group: training/group.py), conclude (verdict, scoring, timing), close
    (write). A failure is recorded, not raised."""

    def __init__(self, inputs: TrialInputs, run: RunContext):
        self.inputs, self.run = inputs, run
        self.started = time.time()
        self.record = open_record(inputs, run, self.started)
        self.training = inputs.trial.config["training"]
        self.built, self.monitor, self.trained = None, None, Trained()
        self.detail: str | None = None
        self.failed = False
        run.progress.start_trial(inputs.trial.slug, continuation.epochs_to_train(inputs.trial),
                                 continuation.initial_epoch(inputs.trial))
        self.memory = MemoryWatch().start()
        self.cache_mark = compile_cache.mark()
        if run.tracker is not None:
            run.tracker.start(self.record)

    def attempt(self, phase) -> None:
        """Run the phase unless an earlier one failed; a failure is kept for the record."""
        if self.failed:
            return
        try:
            phase()
        except Exception as exc:  # the run goes on; the record and error.log say what happened
            self.fail(exc, traceback.format_exc())

    def fail(self, exc: BaseException, detail: str | None = None) -> None:
        self.failed = True
        self.record["status"] = "failed"
        self.record["error"] = f"{exc.__class__.__name__}: {exc}".splitlines()[0][:500]
        self.detail = detail or self.record["error"]
        if self.monitor is not None:
            self.record["history"] = self.monitor.history
        self.record["timing"] = {"total_s": round(time.time() - self.started, 3)}

    def build(self) -> None:
        """The model under the trial's seed and precision, compiled, with its monitor."""
        inputs, record = self.inputs, self.record
        set_random_seed(continuation.random_seed(inputs.trial))
        record["precision"] = precision.choose(self.training["mixed_precision"], self.run.env["backend"],
                                               self.run.env["device"])
        keras.config.set_dtype_policy(record["precision"]["chosen"])
        fault_point("build", inputs.trial.slug)
        self.built = build(inputs.trial.config, inputs.arrays.get(inputs.splits["train"]),
                           inputs.arrays.get(inputs.splits["validation"]))
        continuation.load_earlier(self.built.model, inputs.trial, inputs.out_dir)
        record["model"] = model_summary(inputs.trial.config, self.built.model)
        record["compilation"] = compilation(self.built.model, self.training)
        self.monitor = monitor_for(self.built, inputs, self.run)

    def callbacks(self) -> list:
        """The trial's Keras callbacks: its monitor, the spec's, and the tracker's."""
        callbacks = [self.monitor, *make_callbacks(self.training["callbacks"])]
        if self.run.tracker is not None:
            callbacks.append(self.run.tracker.callback(self.monitor))
        return callbacks

    def train_alone(self) -> None:
        try:
            train(self.built, self.monitor, self.callbacks(), self.inputs, self.run, self.trained)
        finally:
            self.trained_done()

    def trained_done(self) -> None:
        """What training adds to the record's compilation, whether or not it finished."""
        # a group's members say what its program found in the cache (in trained.compilation)
        self.record["compilation"]["cache"] = compile_cache.since(self.cache_mark)
        self.record["compilation"].update(self.trained.compilation)
        if self.trained.tensorboard_dir:
            self.record["tensorboard_dir"] = self.trained.tensorboard_dir

    def conclude(self) -> None:
        """The verdict, and for a complete trial its kept weights and scores; the timing."""
        inputs, record, monitor = self.inputs, self.record, self.monitor
        record["history"] = monitor.history
        record["time_to_accuracy"] = time_to_accuracy(monitor.history)
        if monitor.budget_stop:
            record["stopped_by_budget"] = {"epoch": monitor.budget_stop, "budget_s": self.training["budget_s"]}
        status, said = verdict(monitor, self.training)
        record.update(said)
        eval_s = None
        if status == "complete":
            # the last epoch's weights, kept before scoring
            continuation.keep_weights(self.built.model, inputs.trial, inputs.out_dir)
            eval_start = time.time()
            record.update(score(self.built.model, monitor, inputs, (self.built.x_val, self.built.y_val),
                                self.run.env["device"]["kind"]))
            eval_s = time.time() - eval_start
            self.run.progress.end_scoring(eval_s)
        record["status"] = status
        record["timing"] = trial_timing(monitor.history, len(inputs.splits["train"].indices), self.started,
                                        self.trained.fit_s, eval_s)

    def close(self, clear_session: bool = True) -> dict:
        """The record written (and handed to the tracker); the Keras session cleared unless a group still
        trains in it."""
        trained_epochs = len(self.monitor.history) if self.monitor is not None else 0
        self.run.progress.skip_epochs(continuation.epochs_to_train(self.inputs.trial) - trained_epochs)
        self.record["memory"] = self.memory.stop()
        if clear_session:
            keras.backend.clear_session()
        record = write_record(self.record, self.inputs, self.detail)
        if self.run.tracker is not None:
            self.run.tracker.finish(record)
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
