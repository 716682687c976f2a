"""`fer-bench wandb RESULTS`: every record as a Weights & Biases run, once.

A run's id comes from its trial (`wandb_runs.run_id`), so exporting again finds what is there: offline,
the run folder under wandb/; online, the run in the project.
"""

import logging

from fer_bench.errors import UserError
from fer_bench.report.frames import read_all
from fer_bench.storage import check_writable
from fer_bench.trackers.wandb_runs import (
    WandbTarget,
    finish_run,
    import_wandb,
    log_history,
    offline_run_exists,
    run_id,
    start_run,
)


def export_wandb(paths: list[str], target: WandbTarget) -> tuple[int, int]:
    """(runs created, records already there)."""
    wandb = import_wandb("fer-bench wandb")
    records = read_all(paths)
    check_writable(target.base, "--dir")
    logging.getLogger("wandb").setLevel(logging.ERROR)
    api = _online_api(wandb, target) if target.mode == "online" else None
    created = 0
    try:
        for record in records:
            if offline_run_exists(target, record) if api is None else _online_run_exists(wandb, api, target, record):
                continue
            try:
                run = start_run(wandb, target, record)
            except (wandb.errors.Error, OSError) as exc:
                raise UserError(f"fer-bench wandb: W&B could not start a run ({_first_line(exc)}); {created} of "
                                f"{len(records)} exported") from None
            log_history(run, record.get("history") or [])
            finish_run(wandb, run, record)
            created += 1
    finally:  # W&B's service writes the run files after run.finish() returns: whole when this returns
        wandb.teardown()
    return created, len(records) - created


def _online_api(wandb, target: WandbTarget):
    try:
        api = wandb.Api()
        if not (target.entity or api.default_entity):
            raise wandb.errors.UsageError("no entity")
        return api
    except (wandb.errors.UsageError, wandb.errors.AuthenticationError) as exc:
        raise UserError(f"--mode online: W&B needs a login (wandb login, or WANDB_API_KEY) and an entity "
                        f"({_first_line(exc)}); --mode offline needs neither") from None
    except wandb.errors.CommError as exc:
        raise UserError(f"--mode online: W&B cannot be reached ({_first_line(exc)}); --mode offline writes runs "
                        "to sync later") from None


def _online_run_exists(wandb, api, target: WandbTarget, record: dict) -> bool:
    try:
        api.run(f"{target.entity or api.default_entity}/{target.project}/{run_id(record)}")
    except (ValueError, wandb.errors.CommError):  # RunNotFoundError is a ValueError
        return False
    return True


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
