"""Who proposes the next trial of a search: the grid in its fixed order, or a Keras Tuner oracle.

The oracles are Keras Tuner's own (RandomSearchOracle, BayesianOptimizationOracle, HyperbandOracle), used without
a Tuner: fer-bench trains. They keep no state on disk; a rerun rebuilds their state by replaying
the recorded scores, so fer-bench's records stay the only truth (Keras Tuner's own reload cannot
resume a grid, keras-team/keras-tuner#1055, and retrains a trial left RUNNING from scratch).
"""

import warnings
from dataclasses import dataclass, field
from typing import Any

import keras_tuner as kt
from keras_tuner.src.engine import trial as trial_module

from fer_bench.search.space import Space
from fer_bench.spec.search import SearchSpec, grid_points

NEVER_GIVE_UP = 10**9  # Keras Tuner ends a search after 3 failed trials in a row; fer-bench goes on


@dataclass
class Proposal:
    strategy: str
    number: int  # 1, 2, ... within the strategy
    tuner_trial_id: str
    values: dict[str, Any]  # dotted spec key -> the value the trial uses
    handle: Any = field(default=None, repr=False)  # the oracle's Trial
    # Hyperband's: epochs, initial_epoch, bracket, round, continues (a trial number) and, once the search
    # has named them, continued_from (that trial's ids, one per execution seed)
    rung: dict | None = None


WAIT = "wait"  # what an oracle says while it needs scores of trials still training (a chief's other workers)


class GridStrategy:
    name = "grid"

    def __init__(self, search: SearchSpec, limit: int | None = None):
        self._points = grid_points(search)[:limit]
        self._next = 0
        self._width = len(str(len(self._points)))

    def propose(self, tuner_id: str) -> Proposal | None:
        if self._next >= len(self._points):
            return None
        self._next += 1
        return Proposal("grid", self._next, f"{self._next - 1:0{self._width}d}", self._points[self._next - 1])

    def report(self, proposal: Proposal, score: float | None, message: str = "") -> None:
        pass  # the grid's order does not depend on scores

    def proposes_alike(self, first: Proposal) -> bool:
        return True  # the grid's points are fixed


class _Memoryless:
    """Keeps an oracle's state in memory only: nothing written to disk per trial."""

    def save(self):
        pass

    def _save_trial(self, trial):
        pass


class _RandomOracle(_Memoryless, kt.oracles.RandomSearchOracle):
    pass


class _BayesianOracle(_Memoryless, kt.oracles.BayesianOptimizationOracle):
    pass


class _HyperbandOracle(_Memoryless, kt.oracles.HyperbandOracle):
    pass


RUNG_KEYS = {"tuner/epochs": "epochs", "tuner/initial_epoch": "initial_epoch", "tuner/bracket": "bracket",
             "tuner/round": "round", "tuner/trial_id": "continues"}


class OracleStrategy:
    """A Keras Tuner oracle asked for one trial at a time and told each trial's score."""

    def __init__(self, name: str, search: SearchSpec, limit: int | None = None, max_epochs: int | None = None):
        self.name = name
        self.space = Space(search)
        max_trials = search.trials_per_strategy(limit, max_epochs)[name]
        common = {"objective": kt.Objective("score", search.direction), "max_trials": max_trials,
                  "hyperparameters": self.space.hyperparameters, "seed": search.seed,
                  "max_consecutive_failed_trials": NEVER_GIVE_UP}
        if name == "random":
            self.oracle = _RandomOracle(**common)
        elif name == "hyperband":
            options = search.hyperband
            common.pop("max_trials")  # its brackets set how many trials it proposes ...
            self.oracle = _HyperbandOracle(**common, max_epochs=max_epochs or options.max_epochs or 1,
                                           factor=options.factor, hyperband_iterations=options.iterations)
            self.oracle.max_trials = limit and max_trials  # ... unless --max-trials stops it sooner
        else:
            options = search.bayesian
            self.oracle = _BayesianOracle(num_initial_points=search.initial_points, alpha=options.alpha,
                                          beta=options.beta, **common)
        self.oracle.verbose = 0

    def propose(self, tuner_id: str) -> Proposal | str | None:
        """The next proposal; WAIT while the oracle needs scores still to come; None when it is done."""
        with warnings.catch_warnings():  # scikit-learn's Gaussian process fit warns about kernel bounds
            warnings.simplefilter("ignore", category=UserWarning)
            trial = self.oracle.create_trial(tuner_id)
        if trial.status == trial_module.TrialStatus.IDLE:
            return WAIT
        if trial.status != trial_module.TrialStatus.RUNNING:
            return None  # STOPPED: the budget is spent or the space is exhausted
        number = len(self.oracle.trials)
        values = trial.hyperparameters.values
        rung = {name: values[key] for key, name in RUNG_KEYS.items() if key in values} or None
        if rung is not None:  # which trial it continues, by number: Keras Tuner's id pads it to a width
            rung["continues"] = int(rung["continues"]) + 1 if "continues" in rung else None
            rung["bracket"] = self._bracket_of(trial.trial_id, rung["bracket"])
        return Proposal(self.name, number, trial.trial_id, self.space.decode(values), trial, rung)

    def proposes_alike(self, first: Proposal) -> bool:
        """Whether asking now proposes what the oracle would propose with every score in, so that `first` and
        the next proposal may train together: always in random search, whose draws ignore scores; within a
        Hyperband round while it has places left, whose trials are chosen from the round before, all scored;
        never in Bayesian search, which proposes from finished scores only."""
        if self.name == "random":
            return True
        return (self.name == "hyperband" and first.rung is not None
                and self._next_round() == (first.rung["bracket"], first.rung["round"]))

    def _bracket_of(self, trial_id: str, labelled: int) -> int:
        """The bracket whose round holds the trial. Keras Tuner labels a proposal with the bracket it opened
        last, which is another one where several are open (a chief's workers ask while a round trains); the
        label would mislead the record, and which trials keep their weights for a later round."""
        for bracket in self.oracle._brackets:
            if any(info["id"] == trial_id for infos in bracket["rounds"] for info in infos):
                return bracket["bracket_num"]
        return labelled

    def _next_round(self) -> tuple[int, int] | None:
        """The bracket and round of Hyperband's next proposal, found as keras_tuner's
        HyperbandOracle.populate_space finds it; None where it would open a new bracket, wait or stop."""
        oracle = self.oracle
        for bracket in oracle._brackets:
            number, rounds = bracket["bracket_num"], bracket["rounds"]
            if len(rounds[0]) < oracle._get_size(number, 0):
                return number, 0
            for round_number in range(1, len(rounds)):
                selected = {info["past_id"] for info in rounds[round_number]}
                scored = [info for info in rounds[round_number - 1] if info["id"] not in selected
                          and oracle.trials[info["id"]].status == trial_module.TrialStatus.COMPLETED]
                if len(scored) > oracle._get_size(number, round_number - 1) - oracle._get_size(number, round_number):
                    return number, round_number
        return None

    def report(self, proposal: Proposal, score: float | None, message: str = "") -> None:
        trial = proposal.handle
        if score is None:
            trial.status = trial_module.TrialStatus.FAILED
            trial.message = message or "failed"
        else:
            self.oracle.update_trial(trial.trial_id, {"score": score})
            trial.status = trial_module.TrialStatus.COMPLETED
        self.oracle.end_trial(trial)


def make_strategy(name: str, search: SearchSpec, limit: int | None = None, max_epochs: int | None = None):
    """`limit` (`--max-trials`): at most that many proposals; a later run without it goes on from there.
    `max_epochs`: Hyperband's, resolved (spec.trials.hyperband_max_epochs)."""
    return GridStrategy(search, limit) if name == "grid" else OracleStrategy(name, search, limit, max_epochs)
