"""A run on this machine: plan every spec, start the backend once, train the queue's work in order."""

import contextlib
import importlib.util
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fer_bench.errors import EXIT_OK, EXIT_TRIALS, UserError
from fer_bench.faults import fault_point
from fer_bench.progress import Progress, format_seconds, process_start_time
from fer_bench.records import check_results_dir
from fer_bench.scheduling.groups import limit_on
from fer_bench.scheduling.plan import plan_specs
from fer_bench.scheduling.queue import WorkQueue, recorded_trials
from fer_bench.spec.trials import Overrides


def start(device: str, planned):
    """The backend on `device` and the environment every record keeps."""
    from fer_bench.training.backend import environment, start_backend

    device_info = start_backend(device)
    env = environment(device_info, search=any(p.loaded.spec.search for p in planned))
    for spec in planned:
        loops = {t.trial.config["training"]["loop"] for t in spec.trials} or {spec.loaded.spec.training.loop}
        if "device" in loops and env["backend"] != "jax":
            raise UserError(f"{spec.loaded.path}: training.loop: device needs the JAX backend (KERAS_BACKEND=jax); "
                            f"this run is on {env['backend']}: set KERAS_BACKEND=jax, or use loop: fit")
    return device_info, env


@dataclass(frozen=True)
class Finished:
    """How a run ended: its exit code, and the specs it planned by name (their results folders in `out`)."""

    code: int
    spec_names: list[str]


@dataclass(frozen=True)
class RunContext:
    """What every trial of one run shares: where records go, the environment, how the run was asked for."""

    out: Path
    env: dict
    overrides: Overrides
    command: list[str]
    process_start: float
    started: float
    rerun: bool
    tensorboard: bool = False
    tracker: object = None


def run_specs(paths: list[str], data_flag: str | None, overrides: Overrides, out: Path, device: str,
              rerun: bool, quiet: bool, command: list[str], only: str | None = None,
              tensorboard: bool = False, tracker=None, proposal: tuple[str, dict] | None = None,
              progress=None, clock_start: float | None = None) -> Finished:
    """`progress`: the Progress class that shows the run (the API's bar, api/bars.py); lines by default.
    `clock_start`: where the trials' "since process start" clocks start (the API's call); the process's
    start by default."""
    started = time.time()
    process_start = process_start_time() if clock_start is None else clock_start
    out = check_results_dir(out)
    fault_point("data")
    planned = plan_specs(paths, data_flag, overrides, only, proposal)
    names = [p.loaded.spec.name for p in planned]
    recorded = recorded_trials(planned, out, rerun)
    searching = any(p.loaded.spec.search for p in planned)
    if not searching and not _sweep_pending(planned, recorded):
        total = sum(len(p.trials) for p in planned)
        print(f"nothing to do: all {total} trials already recorded in {out} (--rerun redoes them)")
        return Finished(EXIT_OK, names)

    _, env = start(device, planned)
    queue = WorkQueue(planned, out, recorded, limit_on(env))
    run = RunContext(out, env, overrides, command, process_start, started, rerun, tensorboard, tracker)
    with contextlib.closing((progress or Progress)(queue.expected, queue.expected_epochs, quiet=quiet)) as shown:
        return Finished(_train_queue(queue, shown, planned, run), names)


def _train_queue(queue, progress, planned, run: RunContext) -> int:
    """Train the queue's work in order; the run's exit code."""
    from fer_bench.scheduling.executor import Trainer

    env = run.env
    if run.tensorboard:
        _check_tensorboard(env["backend"])
    trainer = Trainer(run.out, env, progress, run.command, run.process_start, run.rerun, tensorboard=run.tensorboard,
                      tracker=run.tracker, limit=limit_on(env))
    work = queue.next()
    if work is None:
        for search in queue.searches():
            print("\n".join(search.table()))
        print(f"nothing to do: every trial is already recorded in {run.out} (--rerun redoes them)")
        return EXIT_OK
    skipped = sum(len(p.trials) for p in planned) - sum(r.expected for r in queue.runs if not r.proposes)
    precision = _auto_precision(planned, run.overrides, env)
    progress.say(f"running {queue.expected} trials ({skipped} already recorded) on {env['backend']} "
                 f"{env['device']['kind']} ({env['device']['name']}){precision}; data {_data_sources(planned)}; "
                 f"results in {run.out}")
    while work is not None:
        _train(work, queue, trainer)
        work = queue.next()
    counts = trainer.counts
    ran = sum(counts.values())
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    others = f", {trainer.elsewhere} done by another process" if trainer.elsewhere else ""
    replayed = sum(search.replayed for search in queue.searches())
    replay = f", {replayed} search trials replayed from records" if replayed else ""
    for search in queue.searches():
        print("\n".join(search.table()))
    print(f"done: {ran} trials run ({summary}), {skipped} skipped{others}{replay}, in "
          f"{format_seconds(time.time() - run.started)}; records in {run.out}")
    return EXIT_OK if counts["complete"] == ran else EXIT_TRIALS


def _train(work, queue, trainer) -> None:
    """Every trial of one work item (together where they can); a search proposal's score goes back to its
    strategy."""
    records = trainer.train_work(work)
    if not work.proposals:
        return
    for index, planned_trial in enumerate(work.trials):
        # Another process has it. A search waits, since its next proposal needs the score, and trains
        # the trial itself if that process dies without a record.
        while records[index] is None:
            records[index] = trainer.wait_for(work.spec, planned_trial) or trainer.train(
                work.spec, planned_trial, work.search_of(planned_trial.trial_id))
    queue.finish(work, work.scores(records))


def _data_sources(planned) -> str:
    """Where the images come from, and how many: the bundled sample is named as such."""
    seen = {}
    for spec in planned:
        data = spec.planner.data
        seen[str(data.path)] = f"the bundled {len(data.labels)}-image sample" if data.is_sample else \
            f"{data.path} ({len(data.labels):,} images)"
    return ", ".join(seen.values())


def _auto_precision(planned, overrides: Overrides, env: dict) -> str:
    """What mixed_precision: auto means on this device, for the run's first line, when a trial asks it."""
    asked = {overrides.precision, *(p.loaded.spec.training.mixed_precision for p in planned),
             *(t.trial.config["training"]["mixed_precision"] for p in planned for t in p.trials)}
    if "auto" not in asked:
        return ""
    from fer_bench.training.precision import choose

    chosen = choose("auto", env["backend"], env["device"])
    return f", precision auto: {chosen['chosen']} ({chosen['reason']})"


def _check_tensorboard(backend: str) -> None:
    if backend != "tensorflow":
        print(f"warning: --tensorboard: logs are written on the TensorFlow backend only, not {backend}",
              file=sys.stderr)
    elif importlib.util.find_spec("tensorboard") is None:
        raise UserError("--tensorboard: TensorFlow writes the logs through TensorBoard, which is not installed: "
                        "pip install 'fer-bench[tensorboard]'")


def _sweep_pending(planned, recorded: dict[str, dict[str, dict]]) -> bool:
    from fer_bench.records import DONE_STATUSES

    return any(recorded[spec.name].get(p.trial_id, {}).get("status") not in DONE_STATUSES
               for spec in planned for p in spec.trials)


