"""`fer-bench run`: plan every spec, start the backend once, train the pending trials in order."""

import time
from pathlib import Path

from fer_bench.claims import release, try_claim
from fer_bench.faults import fault_point
from fer_bench.plan import PlannedSpec, done_ids, plan_specs
from fer_bench.progress import Progress, format_seconds, process_start_time
from fer_bench.records import (
    DONE_STATUSES,
    RECORD,
    check_results_dir,
    inside,
    read_record,
    remove_stale_temp_files,
    trial_dir,
    update_plan,
)
from fer_bench.spec import Overrides

EXIT_OK, EXIT_TRIALS = 0, 3


def run_specs(paths: list[str], data_flag: str | None, overrides: Overrides, out: Path, device: str,
              rerun: bool, quiet: bool, command: list[str]) -> int:
    started, process_start = time.time(), process_start_time()
    out = check_results_dir(out)
    fault_point("data")
    planned = plan_specs(paths, data_flag, overrides)
    todo = _pending(planned, out, rerun)
    skipped = sum(len(spec.trials) for spec in planned) - len(todo)
    if not todo:
        print(f"nothing to do: all {skipped} trials already recorded in {out} (--rerun redoes them)")
        return EXIT_OK

    from fer_bench.backend import environment, start_backend

    device_info = start_backend(device)
    env = environment(device_info)
    progress = Progress(len(todo), [p.trial.config["training"]["epochs"] for _, p in todo], quiet=quiet)
    progress.say(f"running {len(todo)} trials ({skipped} already recorded) on {env['backend']} "
                 f"{device_info['kind']} ({device_info['name']}); results in {out}")
    arrays, audits = {}, {}
    counts = {"complete": 0, "diverged": 0, "failed": 0}
    elsewhere = 0
    for spec, planned_trial in todo:
        folder = trial_dir(out, spec.loaded.spec.name, planned_trial.trial_id)
        epochs = planned_trial.trial.config["training"]["epochs"]
        if try_claim(folder) is None:
            elsewhere += 1
            progress.skip_epochs(epochs)
            progress.say(f"  {planned_trial.trial_id}: another fer-bench process is training it; skipped")
            continue
        try:
            fault_point("claim", planned_trial.trial.slug)
            if not rerun and _recorded(folder):
                elsewhere += 1
                progress.skip_epochs(epochs)
                continue
            record = _run_one(spec, planned_trial, folder, arrays, audits, env, progress, command, process_start)
        finally:
            release(folder)
        counts[record["status"]] += 1
        if record["status"] != "complete":
            progress.say(f"  {record['status']}: {planned_trial.trial_id}: {record.get('error')}")
        fault_point("between_trials", planned_trial.trial.slug)
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    ran = sum(counts.values())
    others = f", {elsewhere} done by another process" if elsewhere else ""
    print(f"done: {ran} trials run ({summary}), {skipped} skipped{others}, in "
          f"{format_seconds(time.time() - started)}; records in {out}")
    return EXIT_OK if counts["complete"] == ran else EXIT_TRIALS


def _run_one(spec, planned_trial, folder, arrays, audits, env, progress, command, process_start) -> dict:
    from fer_bench.audit import load_audit
    from fer_bench.runner import ArrayCache, run_trial

    data = planned_trial.data
    arrays.setdefault(id(data), ArrayCache(data))
    if id(data) not in audits:
        audits[id(data)] = load_audit(data)
    return run_trial(
        planned_trial.trial, planned_trial.trial_id, spec.loaded, data, planned_trial.splits,
        arrays[id(data)], env, progress, folder,
        {"command": command, "process_start": process_start, "audit": audits[id(data)],
         "dropped_from_training": planned_trial.dropped_from_training},
    )


def _recorded(folder: Path) -> bool:
    record = read_record(folder / RECORD)
    return record is not None and record.get("status") in DONE_STATUSES


def _pending(planned: list[PlannedSpec], out: Path, rerun: bool):
    todo = []
    for spec in planned:
        name = spec.loaded.spec.name
        spec_dir = inside(out, Path(name))
        remove_stale_temp_files(spec_dir)
        update_plan(spec_dir, {p.trial_id: {"variant": p.trial.variant, "seed": p.trial.seed,
                                            "params": p.trial.params} for p in spec.trials})
        recorded = {} if rerun else done_ids(out, name)
        todo.extend((spec, p) for p in spec.trials if recorded.get(p.trial_id) not in DONE_STATUSES)
    return todo
