"""Train one planned trial into its record, once, whatever else works on the same results directory."""

import time
from pathlib import Path

from fer_bench.faults import fault_point
from fer_bench.records import DONE_STATUSES, RECORD, STATUSES, read_record, trial_dir
from fer_bench.scheduling.claims import owner_of, release, take_claim, try_claim
from fer_bench.scheduling.groups import alone, form_groups
from fer_bench.scheduling.plan import PlannedSpec, PlannedTrial

WAIT_POLL_S = 2.0


class Trainer:
    """Shares the float arrays and the audit of each data set between the trials it trains."""

    def __init__(self, out: Path, env: dict, progress, command: list[str], process_start: float, rerun: bool,
                 assigned: bool = False, tensorboard: bool = False, tracker=None, limit=alone):
        self.out, self.env, self.progress = out, env, progress
        self.command, self.process_start, self.rerun = command, process_start, rerun
        # A chief's assignment is exclusive: a claim left by a dead worker on another host is taken over.
        self.assigned = assigned
        self.tensorboard, self.tracker = tensorboard, tracker
        self.limit = limit  # how many trials may train as one program (scheduling/groups.py)
        self.counts = {status: 0 for status in STATUSES}
        self.elsewhere = 0
        self._arrays, self._audits = {}, {}
        self._first_trial_at: float | None = None

    def folder(self, spec: PlannedSpec, planned: PlannedTrial) -> Path:
        return trial_dir(self.out, spec.name, planned.trial_id)

    def train_work(self, work) -> list[dict | None]:
        """Every trial of a work item, in groups where they can train together; records in the work's order
        (None for a trial another process is training)."""
        records = {}
        for group in form_groups(work.trials, self.limit):
            if len(group) == 1:
                records[group[0].trial_id] = self.train(work.spec, group[0], work.search_of(group[0].trial_id))
            else:
                records.update(self.train_group(work.spec, group, work.search_of))
        return [records[t.trial_id] for t in work.trials]

    def train(self, spec: PlannedSpec, planned: PlannedTrial, search: dict | None = None) -> dict | None:
        """The trial's record: trained now, or already there. None when another process is training it."""
        found = self._claim(planned, self.folder(spec, planned))
        return self._run_claimed(spec, planned, search) if found is True else found

    def train_group(self, spec: PlannedSpec, group: list[PlannedTrial], search_of) -> dict[str, dict | None]:
        """The group's records by trial id: the members this process claims train as one program, each
        released as its record is written. `search_of(trial_id)`: what a search trial's record keeps under
        "search" (None for a sweep trial)."""
        from fer_bench.training.group import run_group

        records, members = {}, []
        for planned in group:
            found = self._claim(planned, self.folder(spec, planned))
            if found is True:
                members.append(planned)
            else:
                records[planned.trial_id] = found
        if len(members) == 1:  # the others are recorded or taken: a group of one trains alone
            return {**records, members[0].trial_id: self._run_claimed(spec, members[0], search_of(members[0].trial_id))}

        def written(index: int, record: dict) -> None:
            release(self.folder(spec, members[index]))
            records[members[index].trial_id] = record
            self._count(members[index], record)

        try:
            if members:
                run_group([self._inputs(spec, p, search_of(p.trial_id)) for p in members], self._context(), written)
        finally:
            for planned in members:
                release(self.folder(spec, planned))
        return records

    def _run_claimed(self, spec: PlannedSpec, planned: PlannedTrial, search: dict | None) -> dict:
        from fer_bench.training.trial import run_trial

        folder = self.folder(spec, planned)
        try:
            record = run_trial(self._inputs(spec, planned, search), self._context())
        finally:
            release(folder)
        self._count(planned, record)
        return record

    def _claim(self, planned: PlannedTrial, folder: Path):
        """True when this process now holds the trial and must train it; else its record (None when another
        process is training it)."""
        epochs = planned.trial.config["training"]["epochs"]
        claim = take_claim(folder) if self.assigned else try_claim(folder)
        if claim is None:
            self.elsewhere += 1
            self.progress.skip_epochs(epochs)
            self.progress.say(f"  {planned.trial_id}: another fer-bench process is training it; skipped")
            return None
        try:
            fault_point("claim", planned.trial.slug)
            record = None if self.rerun else _recorded(folder)
        except BaseException:
            release(folder)
            raise
        if record is None:
            return True
        release(folder)
        self.elsewhere += 1
        self.progress.skip_epochs(epochs)
        return record

    def _count(self, planned: PlannedTrial, record: dict) -> None:
        self.counts[record["status"]] += 1
        if record["status"] != "complete":
            self.progress.say(f"  {record['status']}: {planned.trial_id}: {record.get('error')}")
        fault_point("between_trials", planned.trial.slug)

    def wait_for(self, spec: PlannedSpec, planned: PlannedTrial) -> dict | None:
        """The record another process is writing, once its claim is gone (None if it left none)."""
        folder = self.folder(spec, planned)
        while owner_of(folder) is not None and try_claim(folder) is None:
            time.sleep(WAIT_POLL_S)
        release(folder)
        return _recorded(folder)

    def _inputs(self, spec: PlannedSpec, planned: PlannedTrial, search: dict | None):
        from fer_bench.data.audit import load_audit
        from fer_bench.training.arrays import ArrayCache
        from fer_bench.training.trial import TrialInputs

        data = planned.data
        self._arrays.setdefault(id(data), ArrayCache(data))
        if id(data) not in self._audits:
            self._audits[id(data)] = load_audit(data)
        return TrialInputs(planned.trial, planned.trial_id, spec.loaded, data, planned.splits, self._arrays[id(data)],
                           self._audits[id(data)], planned.dropped_from_training, self.folder(spec, planned), search)

    def _context(self):
        from fer_bench.training.trial import RunContext

        return RunContext(self.env, self.progress, self.command, self._clock_start(), self.tensorboard, self.tracker)

    def _clock_start(self) -> float:
        """Where a trial's "since process start" clock starts: the process's start for the first trial (or
        group); for a later one, that start moved on by the earlier trials' time. So each trial counts the
        start-up (imports, data) once and not the trials before it, as if it had run alone: seed 2 of a
        time-to-accuracy spec is timed like seed 0."""
        now = time.time()
        if self._first_trial_at is None:
            self._first_trial_at = now
        return self.process_start + (now - self._first_trial_at)


def _recorded(folder: Path) -> dict | None:
    record = read_record(folder / RECORD)
    return record if record is not None and record.get("status") in DONE_STATUSES else None
