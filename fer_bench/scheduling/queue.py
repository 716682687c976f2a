"""What to train next: the pending trials of sweeps and the proposals of searches, in spec order.

One queue serves a local run and a distributed chief alike. A work item is one sweep trial (or a group
of them that trains as one program, scheduling/groups.py), or search proposals with all their
executions (seeds): one proposal, or several that train as one program where the strategy's next
proposals do not wait on scores.
"""

import itertools
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fer_bench.records import DONE_STATUSES, iter_records, update_plan
from fer_bench.scheduling.groups import alone, form_groups
from fer_bench.scheduling.plan import PlannedSpec, PlannedTrial
from fer_bench.search.summary import WITHIN, better, objective_value, strategy_summary
from fer_bench.spec.trials import hyperband_max_epochs, mean_epochs, search_trials
from fer_bench.storage import inside, remove_stale_temp_files


@dataclass
class Proposed:
    """One search proposal in a work item: its executions (one trial per seed) and what their records keep
    under "search"."""

    proposal: Any  # search.strategies.Proposal
    trials: list[PlannedTrial]
    search: dict

    def describe(self) -> dict:
        p = self.proposal
        return {"strategy": p.strategy, "number": p.number, "tuner_trial_id": p.tuner_trial_id, "values": p.values,
                "search": self.search, "rung": p.rung, "trial_ids": [t.trial_id for t in self.trials]}


@dataclass
class Work:
    """Trials to train now: sweep trials, or search proposals that may train together (a Hyperband round)."""

    spec: PlannedSpec
    trials: list[PlannedTrial]
    proposals: list[Proposed] = field(default_factory=list)  # a search's, in order; empty for sweep trials

    def search_of(self, trial_id: str) -> dict | None:
        return next((p.search for p in self.proposals if any(t.trial_id == trial_id for t in p.trials)), None)

    def scores(self, records: list[dict | None]) -> list[tuple[float | None, str]]:
        """Each proposal's score (and why it has none) from the work's records, in the order of its trials."""
        if not self.proposals:
            return []
        by_id = {t.trial_id: r for t, r in zip(self.trials, records, strict=True)}
        objective = self.spec.loaded.spec.search.objective
        return [proposal_score([by_id[t.trial_id] for t in p.trials], objective) for p in self.proposals]

    def describe(self) -> dict:
        """The work as plain data, for a worker that plans the same specs itself."""
        described = {"spec": self.spec.name, "trial_ids": [t.trial_id for t in self.trials],
                     "data": self.trials[0].data.fingerprint}
        if self.proposals:
            described["proposals"] = [p.describe() for p in self.proposals]
        return described


def proposal_score(records: list[dict | None], objective: str) -> tuple[float | None, str]:
    """The mean objective over a proposal's executions; None (and why) when any did not complete."""
    values = []
    for record in records:
        value = None if record is None else objective_value(record, objective)
        if value is None:
            status = "missing" if record is None else record.get("status")
            error = "" if record is None else record.get("error", "")
            return None, f"an execution is {status}" + (f": {error}" if error else "")
        values.append(value)
    return statistics.fmean(values), ""


class SweepRun:
    """The trials of a sweep spec that have no record yet, in the spec's order, in groups up to `limit`."""

    proposes = False

    def __init__(self, planned: PlannedSpec, recorded: dict[str, str], limit=alone):
        self.planned = planned
        pending = [t for t in planned.trials if recorded.get(t.trial_id) not in DONE_STATUSES]
        self.groups = form_groups(pending, limit)
        self.expected = len(pending)
        self.expected_epochs = sum(t.trial.config["training"]["epochs"] for t in pending)

    def next(self) -> Work | None:
        return Work(self.planned, self.groups.pop(0)) if self.groups else None

    def finish(self, work: Work, scores: list[tuple[float | None, str]]) -> None:
        pass


@dataclass
class StrategyResult:
    numbers: dict[int, tuple[dict, float | None]] = field(default_factory=dict)  # number -> (values, score)
    best: float | None = None


class SearchRun:
    """A search spec: its strategies propose in turn, recorded proposals are replayed, not retrained.

    Replaying feeds each oracle the recorded scores in trial order, so a rerun proposes exactly the
    sequence of an uninterrupted run and trains only what is missing. Proposals that cannot depend on scores
    still to come (the grid's, random search's, one Hyperband round's) are handed out together, up to
    `limit(trial)` trials, to train as one program; the sequence stays that of one proposal at a time.
    """

    proposes = True

    def __init__(self, planned: PlannedSpec, records: dict[str, dict], limit=alone):
        from fer_bench.search.strategies import make_strategy

        self.planned = planned
        self.search = planned.loaded.spec.search
        self.records = records
        self.limit = limit
        limit, max_epochs = planned.overrides.max_trials, hyperband_max_epochs(planned.loaded, planned.overrides)
        self.strategies = [make_strategy(name, self.search, limit, max_epochs) for name in planned.strategies]
        self.results = {name: StrategyResult() for name in planned.strategies}
        self.trial_ids: dict[tuple[str, int], list[str]] = {}  # (strategy, number) -> its trials' ids, by seed
        self._tuner_ids = itertools.count()
        executions = planned.overrides.seeds or self.search.executions
        per_strategy = self.search.trials_per_strategy(limit, max_epochs)
        done = Counter(r["search"]["strategy"] for r in records.values() if r.get("status") in DONE_STATUSES
                       and _counts_here(r.get("search") or {}, planned.strategies, self.search.seed))
        left = {name: max(per_strategy[name] * executions - done[name], 0) for name in planned.strategies}
        self.expected = sum(left.values())
        self.expected_epochs = sum(n * mean_epochs(planned.loaded, planned.overrides, name) for name, n in left.items())
        self.replayed = 0

    def next(self) -> Work | str | None:
        """The next proposals to train; WAIT while a strategy needs scores still to come (and no other
        strategy has work); None when every strategy is done."""
        from fer_bench.search.strategies import WAIT

        waiting = False
        for strategy in self.strategies:
            batch: list[Proposed] = []
            while not batch or self._room(batch) and strategy.proposes_alike(batch[0].proposal):
                # A fresh id per proposal: an oracle hands a tuner id that still has a trial the same trial.
                proposal = strategy.propose(f"fer-bench-{next(self._tuner_ids)}")
                if proposal is None:
                    break
                if proposal == WAIT:
                    waiting = not batch
                    break
                proposal.rung = self._rung(strategy.name, proposal.rung)
                trials = [self.planned.planner.plan(t) for t in search_trials(
                    self.planned.loaded, self.planned.overrides, strategy.name, proposal.number, proposal.values,
                    proposal.rung)]
                self.trial_ids[strategy.name, proposal.number] = [t.trial_id for t in trials]
                recorded = [self.records.get(t.trial_id) for t in trials]
                if all(r is not None and r.get("status") in DONE_STATUSES for r in recorded):
                    self.finish_proposal(proposal, *proposal_score(recorded, self.search.objective))
                    self.replayed += 1
                    continue
                batch.append(Proposed(proposal, trials, {
                    "strategy": strategy.name, "trial_number": proposal.number,
                    "tuner_trial_id": proposal.tuner_trial_id, "search_seed": self.search.seed,
                    "objective": self.search.objective,
                    "direction": self.search.direction, "best_before": self.results[strategy.name].best}))
            if batch:
                return Work(self.planned, [t for p in batch for t in p.trials], batch)
        return WAIT if waiting else None

    def _room(self, batch: list[Proposed]) -> bool:
        """Whether another proposal's executions fit in the batch's group."""
        per_proposal = len(batch[0].trials)
        return sum(len(p.trials) for p in batch) + per_proposal <= self.limit(batch[0].trials[0])

    def _rung(self, strategy: str, rung: dict | None) -> dict | None:
        """A Hyperband proposal's rung, with the trials it continues (one per execution seed) named."""
        if rung is None:
            return None
        earlier = self.trial_ids[strategy, rung["continues"]] if rung["continues"] else None
        return {**rung, "continued_from": earlier}

    def finish(self, work: Work, scores: list[tuple[float | None, str]]) -> None:
        for proposed, (score, message) in zip(work.proposals, scores, strict=True):
            self.finish_proposal(proposed.proposal, score, message)

    def finish_proposal(self, proposal, score: float | None, message: str) -> None:
        strategy = next(s for s in self.strategies if s.name == proposal.strategy)
        strategy.report(proposal, score, message)
        result = self.results[proposal.strategy]
        result.numbers[proposal.number] = (proposal.values, score)
        if score is not None and better(score, result.best, self.search.direction):
            result.best = score

    def table(self) -> list[str]:
        """Per strategy: trials, best objective and where it was reached, trials to come near the best."""
        direction = self.search.direction
        summary = strategy_summary({name: [(n, v, s) for n, (v, s) in result.numbers.items()]
                                    for name, result in self.results.items()}, direction)
        if summary["overall"] is None:
            return [f"{self.planned.name}: no search trial completed"]
        lines = [f"{self.planned.name}: {self.search.objective} ({'higher' if direction == 'max' else 'lower'} is "
                 f"better); near = within {WITHIN:g} of the best of all strategies ({summary['overall']:.4f}); "
                 f"unscored = failed, diverged or timed out",
                 f"  {'strategy':<10}{'trials':>7}{'unscored':>9}{'best':>9}  {'at trial':>8}{'near at':>9}"
                 "  parameters"]
        for row in summary["rows"]:
            best = f"{row['best']:.4f}" if row["best"] is not None else "-"
            shown = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in row["params"].items())
            lines.append(f"  {row['strategy']:<10}{row['trials']:>7}{row['unscored']:>9}{best:>9}  "
                         f"{row['at'] or '-':>8}{row['near_at'] or '-':>9}  {shown}".rstrip())
        return lines


def _counts_here(search: dict, strategies: list[str], seed: int) -> bool:
    """A recorded search trial this search would replay: one of its strategies, under its seed (the grid's
    points are every seed's)."""
    return search.get("strategy") in strategies and (search["strategy"] == "grid"
                                                     or search.get("search_seed", 1) == seed)


def recorded_trials(planned: list[PlannedSpec], out: Path, rerun: bool) -> dict[str, dict[str, dict]]:
    """Per spec name, its records by trial id (none with --rerun); read once per run."""
    found = {}
    for spec in planned:
        spec_dir = inside(out, Path(spec.name))
        remove_stale_temp_files(spec_dir)
        found[spec.name] = {} if rerun or not spec_dir.is_dir() else {
            r["trial_id"]: r for _, r in iter_records(spec_dir)}
    return found


class WorkQueue:
    """Every spec's work in the order the specs were given."""

    def __init__(self, planned: list[PlannedSpec], out: Path, recorded: dict[str, dict[str, dict]], limit=alone):
        """`limit(planned_trial)`: how many trials may train with it as one program (scheduling/groups.py)."""
        self.runs = []
        for spec in planned:
            spec_dir = inside(out, Path(spec.name))
            records = recorded[spec.name]
            if spec.loaded.spec.search is not None:
                self.runs.append(SearchRun(spec, records, limit))
            else:
                update_plan(spec_dir, {p.trial_id: {"variant": p.trial.variant, "seed": p.trial.seed,
                                                    "params": p.trial.params} for p in spec.trials})
                self.runs.append(SweepRun(spec, {k: r.get("status") for k, r in records.items()}, limit))
        self.out = out

    @property
    def expected(self) -> int:
        return sum(run.expected for run in self.runs)

    @property
    def expected_epochs(self) -> float:
        return sum(run.expected_epochs for run in self.runs)

    def next(self) -> Work | str | None:
        """The next work item; WAIT (search.strategies) while a search waits for scores still to come."""
        from fer_bench.search.strategies import WAIT

        waiting = False
        for run in self.runs:
            work = run.next()
            if work == WAIT:
                waiting = True
            elif work is not None:
                if work.proposals:
                    update_plan(inside(self.out, Path(work.spec.name)), {t.trial_id: {
                        "variant": t.trial.variant, "seed": t.trial.seed, "params": t.trial.params,
                        "search": t.trial.search} for t in work.trials})
                return work
        return WAIT if waiting else None

    def finish(self, work: Work, scores: list[tuple[float | None, str]]) -> None:
        """Each proposal's score (and why it has none), in the work's order; nothing for sweep trials."""
        self._run_of(work).finish(work, scores)

    def _run_of(self, work: Work):
        return next(run for run in self.runs if run.planned is work.spec)

    def searches(self) -> list[SearchRun]:
        return [run for run in self.runs if isinstance(run, SearchRun)]
