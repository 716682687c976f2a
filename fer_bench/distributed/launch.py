"""The two ends of a spread run as `fer-bench run` starts them: a chief that serves, a worker that trains.

A worker contacts its chief over plain gRPC before Keras (and its start-up) is imported.
"""

import time
from pathlib import Path

from fer_bench.errors import EXIT_OK, EXIT_TRIALS
from fer_bench.progress import Progress, format_seconds, process_start_time
from fer_bench.records import check_results_dir
from fer_bench.scheduling.groups import limit_on
from fer_bench.scheduling.local import start
from fer_bench.scheduling.plan import plan_specs
from fer_bench.scheduling.queue import WorkQueue, recorded_trials
from fer_bench.spec.trials import Overrides


def run_chief(paths: list[str], data_flag: str | None, overrides: Overrides, out: Path, rerun: bool, host: str,
              port: int, lease_s: float, only: str | None = None) -> int:
    """Serve every spec's work to workers; train nothing here."""
    from fer_bench.distributed.chief import records_note, serve

    out = check_results_dir(out)
    planned = plan_specs(paths, data_flag, overrides, only)
    _, env = start("cpu", planned)  # Keras Tuner imports Keras; the chief needs no accelerator
    # It hands out together the proposals that may train as one program, as many as a worker's group takes
    # (a number in the spec or flags; under auto, whether this machine has a GPU: the chief uses none itself).
    from fer_bench.training.backend import gpu_present

    machine = {**env, "device": {**env["device"], "kind": "gpu" if gpu_present() else "cpu"}}
    queue = WorkQueue(planned, out, recorded_trials(planned, out, rerun), limit_on(machine))
    oracle = serve(queue, host, port, lease_s)
    for search in queue.searches():
        print("\n".join(search.table()))
    workers = ", ".join(f"{tuner} {n}" for tuner, n in sorted(oracle.trained_by.items())) or "none"
    print(f"done: {oracle.handed_out} work items handed out; trials trained per worker: {workers}; "
          f"the chief trained none; {records_note(out)}")
    return EXIT_OK


def run_worker(paths: list[str], data_flag: str | None, overrides: Overrides, out: Path, device: str, address: str,
               worker_id: str, connect_timeout_s: float, quiet: bool, command: list[str],
               tensorboard: bool = False, tracker=None) -> int:
    """Train what the chief hands out until it says stop."""
    started, process_start = time.time(), process_start_time()
    out = check_results_dir(out)
    planned = plan_specs(paths, data_flag, overrides)
    from fer_bench.distributed.connect import connect

    channel = connect(address, connect_timeout_s)
    device_info, env = start(device, planned)
    from fer_bench.distributed.worker import ChiefClient, work_loop
    from fer_bench.scheduling.executor import Trainer

    client = ChiefClient(channel, address, worker_id, connect_timeout_s)
    progress = Progress(None, 0, quiet=quiet)
    progress.say(f"worker {worker_id}: working for the chief at {address} on {env['backend']} "
                 f"{device_info['kind']} ({device_info['name']}); results in {out}")
    trainer = Trainer(out, env, progress, command, process_start, rerun=False, assigned=True,
                      tensorboard=tensorboard, tracker=tracker, limit=limit_on(env))
    try:
        work_loop(client, planned, trainer)
    finally:
        client.close()
    counts = trainer.counts
    ran = sum(counts.values())
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    print(f"done: worker {worker_id} ran {ran} trials ({summary}) in {format_seconds(time.time() - started)}; "
          f"records in {out}")
    return EXIT_OK if counts["complete"] == ran else EXIT_TRIALS
