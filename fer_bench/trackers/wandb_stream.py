"""`run --wandb`: each trial a W&B run while it trains, finished from its record once that is written.

The run has the id `fer-bench wandb` would give the record, so exporting the same results later adds
nothing. Under a W&B sweep agent the run is the agent's (its id comes from WANDB_RUN_ID), so the sweep
sees the trial's scores. W&B failing never fails a trial: it is said once, and training goes on.
"""

import os
import sys

from fer_bench.errors import UserError
from fer_bench.storage import check_writable
from fer_bench.trackers.wandb_runs import WandbTarget, epoch_row, finish_run, import_wandb, start_run


class WandbStream:
    """Handed to every trial of a run (RunContext.tracker): start, one row an epoch, finish."""

    def __init__(self, target: WandbTarget):
        self.target = target
        self.wandb = import_wandb("--wandb")
        if target.mode == "online" and not os.environ.get("WANDB_SWEEP_ID"):
            try:  # no key is a mistake to say before training, not a warning after each trial
                self.wandb.Api()
            except self.wandb.errors.UsageError as exc:
                raise UserError(f"--wandb online: {str(exc).strip()}; or --wandb offline, which needs no "
                                "login") from None
        check_writable(target.base, "$WANDB_DIR")
        self.run = None
        self.broken = False

    def start(self, record: dict) -> None:
        self.run = self._guarded(start_run, self.wandb, self.target, record, os.environ.get("WANDB_SWEEP_ID"))

    def callback(self, monitor):
        from fer_bench.trackers.epoch_callback import EpochRows

        return EpochRows(self.log_epoch, monitor)

    def log_epoch(self, entry: dict) -> None:
        if self.run is not None:
            self._guarded(self.run.log, epoch_row(entry), step=entry["epoch"])

    def finish(self, record: dict) -> None:
        if self.run is not None:
            self._guarded(finish_run, self.wandb, self.run, record)
        self.run = None

    def close(self) -> None:
        """At the end of the run: W&B's service writes its files after run.finish() returns, and an
        in-process caller (or a reader of the files right after) must find them whole."""
        self._guarded(self.wandb.teardown)

    def _guarded(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the tracker must never cost a trial its record
            if not self.broken:
                first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
                print(f"warning: --wandb: W&B failed ({first}); training goes on, the records are kept, and "
                      "`fer-bench wandb RESULTS` exports them later", file=sys.stderr)
            self.broken = True
            self.run = None
            return None
