"""Train one planned trial into its record, once, whatever else works on the same results directory."""

import time
from pathlib import Path

from fer_bench.faults import fault_point
from fer_bench.records import DONE_STATUSES, RECORD, STATUSES, read_record, trial_dir
from fer_bench.scheduling.claims import owner_of, release, take_claim, try_claim
from fer_bench.scheduling.plan import PlannedSpec, PlannedTrial

WAIT_POLL_S = 2.0


class Trainer:
    """Shares the float arrays and the audit of each data set between the trials it trains."""

    def __init__(self, out: Path, env: dict, progress, command: list[str], process_start: float, rerun: bool,
                 assigned: bool = False, tensorboard: bool = False, tracker=None):
        self.out, self.env, self.progress = out, env, progress
        self.command, self.process_start, self.rerun = command, process_start, rerun
        # A chief's assignment is exclusive: a claim left by a dead worker on another host is taken over.
        self.assigned = assigned
        self.tensorboard, self.tracker = tensorboard, tracker
        self.counts = {status: 0 for status in STATUSES}
        self.elsewhere = 0
        self._arrays, self._audits = {}, {}

    def folder(self, spec: PlannedSpec, planned: PlannedTrial) -> Path:
        return trial_dir(self.out, spec.name, planned.trial_id)

    def train(self, spec: PlannedSpec, planned: PlannedTrial, search: dict | None = None) -> dict | None:
        """The trial's record: trained now, or already there. None when another process is training it."""
        folder = self.folder(spec, planned)
        epochs = planned.trial.config["training"]["epochs"]
        claim = take_claim(folder) if self.assigned else try_claim(folder)
        if claim is None:
            self.elsewhere += 1
            self.progress.skip_epochs(epochs)
            self.progress.say(f"  {planned.trial_id}: another fer-bench process is training it; skipped")
            return None
        try:
            fault_point("claim", planned.trial.slug)
            if not self.rerun:
                record = _recorded(folder)
                if record is not None:
                    self.elsewhere += 1
                    self.progress.skip_epochs(epochs)
                    return record
            record = self._run(spec, planned, folder, search)
        finally:
            release(folder)
        self.counts[record["status"]] += 1
        if record["status"] != "complete":
            self.progress.say(f"  {record['status']}: {planned.trial_id}: {record.get('error')}")
        fault_point("between_trials", planned.trial.slug)
        return record

    def wait_for(self, spec: PlannedSpec, planned: PlannedTrial) -> dict | None:
        """The record another process is writing, once its claim is gone (None if it left none)."""
        folder = self.folder(spec, planned)
        while owner_of(folder) is not None and try_claim(folder) is None:
            time.sleep(WAIT_POLL_S)
        release(folder)
        return _recorded(folder)

    def _run(self, spec: PlannedSpec, planned: PlannedTrial, folder: Path, search: dict | None) -> dict:
        from fer_bench.data.audit import load_audit
        from fer_bench.training.arrays import ArrayCache
        from fer_bench.training.trial import RunContext, TrialInputs, run_trial

        data = planned.data
        self._arrays.setdefault(id(data), ArrayCache(data))
        if id(data) not in self._audits:
            self._audits[id(data)] = load_audit(data)
        inputs = TrialInputs(planned.trial, planned.trial_id, spec.loaded, data, planned.splits, self._arrays[id(data)],
                             self._audits[id(data)], planned.dropped_from_training, folder, search)
        return run_trial(inputs, RunContext(self.env, self.progress, self.command, self.process_start,
                                            self.tensorboard, self.tracker))


def _recorded(folder: Path) -> dict | None:
    record = read_record(folder / RECORD)
    return record if record is not None and record.get("status") in DONE_STATUSES else None
