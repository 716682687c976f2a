"""The `search` section of a spec: strategies, objective, budget and the space they search.

Only the schema lives here; Keras Tuner is imported where a search runs (fer_bench/search/).
"""

import json
import math
from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from fer_bench.spec.base import MAX_TRIALS, Strict

Strategy = Literal["grid", "random", "bayesian", "hyperband"]


STRATEGIES = ("grid", "random", "bayesian", "hyperband")


# Objectives are read from the record; the test splits are not among them on purpose: tuning on
# them would make the reported test accuracy optimistic.
OBJECTIVES = {"val_accuracy": "max", "val_loss": "min", "best_val_accuracy": "max"}


class ChoiceParam(Strict):
    type: Literal["choice"]
    values: list[Any] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _distinct(cls, values):
        seen = [json.dumps(v, sort_keys=True) for v in values]
        for text in seen:
            if seen.count(text) > 1:
                raise ValueError(f"value {text} is listed twice")
        return values

    def representatives(self) -> list:
        return list(self.values)

    def grid_count(self) -> int:
        return len(self.values)


class _Range(Strict):
    sampling: Literal["linear", "log"] = "linear"

    @model_validator(mode="after")
    def _check_range(self):
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        if self.sampling == "log" and self.min <= 0:
            raise ValueError(f"log sampling needs min > 0 (got min {self.min})")
        if self.step is not None:
            if self.sampling == "log" and self.step <= 1:
                raise ValueError(f"with log sampling the step multiplies: it must be above 1 (got {self.step})")
            if self.sampling == "linear" and self.step > self.max - self.min:
                raise ValueError(f"step {self.step} is wider than the range {self.min}..{self.max}")
        return self

    @property
    def has_grid(self) -> bool:
        return self.step is not None

    def grid_count(self) -> int:
        """How many values a stepped range has, counted without making them."""
        lo, hi, step = self.min, self.max, self.step
        if self.sampling == "linear":
            return math.floor((hi - lo) / step + 1e-9) + 1
        return math.floor(math.log(hi / lo) / math.log(step) + 1e-9) + 1

    def _grid_value(self, i: int):
        lo, step = self.min, self.step
        return self._clean(lo + i * step if self.sampling == "linear" else lo * step**i)

    def grid_values(self) -> list:
        """Every value of a stepped range, min first; max included when a step lands on it."""
        return [self._grid_value(i) for i in range(self.grid_count())]

    def representatives(self) -> list:
        """The values a spec check tries: both ends (a stepped range's last value may fall short of max)."""
        return [self.min, self._grid_value(self.grid_count() - 1) if self.step is not None else self.max]


class IntParam(_Range):
    type: Literal["int"]
    min: int
    max: int
    step: PositiveInt | None = None

    @property
    def has_grid(self) -> bool:
        return self.step is not None or self.sampling == "linear"

    def grid_count(self) -> int:
        return self.max - self.min + 1 if self.step is None else _Range.grid_count(self)

    def grid_values(self) -> list:
        if self.step is None:
            return list(range(self.min, self.max + 1))
        return _Range.grid_values(self)

    @staticmethod
    def _clean(value) -> int:
        return int(round(value))


class FloatParam(_Range):
    type: Literal["float"]
    min: float
    max: float
    step: float | None = Field(default=None, gt=0)

    @staticmethod
    def _clean(value) -> float:
        return float(f"{value:.12g}")  # 0.1 * 3 -> 0.3, not 0.30000000000000004


Param = Annotated[ChoiceParam | IntParam | FloatParam, Field(discriminator="type")]


class BayesianOptions(Strict):
    initial_points: PositiveInt | None = None  # Keras Tuner's default: 3 per searched key, at least 3
    alpha: float = Field(default=1e-4, gt=0)
    beta: float = Field(default=2.6, gt=0)


class HyperbandOptions(Strict):
    """Keras Tuner's Hyperband: brackets of trials at growing epoch budgets, the best of each round
    continued from their weights. One iteration trains about max_epochs * log_factor(max_epochs)^2 epochs."""

    max_epochs: PositiveInt | None = Field(default=None, le=10_000)  # None: the trials' training.epochs
    factor: int = Field(default=3, ge=2, le=100)
    iterations: PositiveInt = Field(default=1, le=100)


def hyperband_rounds(max_epochs: int, factor: int) -> list[list[tuple[int, int]]]:
    """Keras Tuner's brackets, the widest first: per round, (trials, epochs each trial reaches)."""
    brackets, epochs = 0, max_epochs
    while epochs >= 1:
        epochs, brackets = epochs / factor, brackets + 1
    last_size = math.ceil(1 + math.log(max_epochs, factor))
    return [[(math.ceil(last_size / (bracket + 1) * factor ** (bracket - r)),
              math.ceil(max_epochs / factor ** (bracket - r))) for r in range(bracket + 1)]
            for bracket in reversed(range(brackets))]


def hyperband_budget(max_epochs: int, factor: int, iterations: int = 1) -> tuple[int, int]:
    """(trials, epochs trained) of a whole Hyperband search, a continued trial training only its new epochs."""
    trials = epochs = 0
    for rounds in hyperband_rounds(max_epochs, factor):
        reached = 0
        for size, epochs_each in rounds:
            trials, epochs, reached = trials + size, epochs + size * (epochs_each - reached), epochs_each
    return trials * iterations, epochs * iterations


class SearchSpec(Strict):
    strategy: Strategy | list[Strategy]
    objective: Literal["val_accuracy", "val_loss", "best_val_accuracy"] = "val_accuracy"
    max_trials: PositiveInt = 10  # per random or Bayesian strategy; grid runs every point of the space
    executions: PositiveInt = 1  # seeds per trial: 0..executions-1; the objective is their mean
    seed: int = Field(default=1, ge=1)  # the oracles' seed (Keras Tuner takes 0 as "pick one at random")
    bayesian: BayesianOptions = Field(default_factory=BayesianOptions)
    hyperband: HyperbandOptions = Field(default_factory=HyperbandOptions)
    space: dict[str, Param] = Field(min_length=1)

    @property
    def strategies(self) -> list[str]:
        return [self.strategy] if isinstance(self.strategy, str) else list(self.strategy)

    @property
    def direction(self) -> str:
        return OBJECTIVES[self.objective]

    @field_validator("strategy")
    @classmethod
    def _distinct_strategies(cls, strategy):
        if isinstance(strategy, list) and (not strategy or len(set(strategy)) != len(strategy)):
            raise ValueError("a list of strategies must be non-empty and name each strategy once")
        return strategy

    @model_validator(mode="after")
    def _check_strategies(self):
        if "grid" in self.strategies:
            for key, param in self.space.items():
                if not isinstance(param, ChoiceParam) and not param.has_grid:
                    raise ValueError(
                        f"grid over {key!r} needs a step: a {param.sampling} {param.type} range without one has "
                        "no grid (Keras Tuner would silently take 10 values)")
        if "grid" in self.strategies and self.grid_size() > MAX_TRIALS:
            counts = " x ".join(f"{p.grid_count():,}" for p in self.space.values())
            raise ValueError(f"the grid has {self.grid_size():,} points ({counts} values); at most {MAX_TRIALS:,}: "
                             "use wider steps or fewer values, or search it with random or bayesian")
        if "bayesian" in self.strategies:
            initial = self.initial_points
            if initial >= self.max_trials:
                raise ValueError(
                    f"bayesian: {initial} initial random points leave none of max_trials ({self.max_trials}) to the "
                    "Gaussian process; raise max_trials or lower bayesian.initial_points")
        return self

    @property
    def initial_points(self) -> int:
        return self.bayesian.initial_points or max(3 * len(self.space), 3)

    def grid_size(self) -> int:
        return math.prod(p.grid_count() for p in self.space.values())

    def trials_per_strategy(self, limit: int | None = None, max_epochs: int | None = None) -> dict[str, int]:
        """Trials each strategy proposes; `limit` (`--max-trials`) caps each, the grid at its first points.
        Hyperband's count needs its `max_epochs` (spec.trials.hyperband_max_epochs); it is at most that: a small
        space can run out of untried points first."""
        full = {s: self.grid_size() if s == "grid" else self.max_trials for s in self.strategies}
        if "hyperband" in full:
            options = self.hyperband
            full["hyperband"] = hyperband_budget(max_epochs or options.max_epochs or 1, options.factor,
                                                 options.iterations)[0]
        return {s: min(n, limit or n) for s, n in full.items()}


def _values(param) -> list:
    return param.values if isinstance(param, ChoiceParam) else param.grid_values()


def first_point(search: SearchSpec) -> dict[str, Any]:
    """Each parameter's first choice or its minimum: the grid's first point, made without the grid (a range
    without a step has none, an unstepped int range may have a billion points)."""
    return {key: p.values[0] if isinstance(p, ChoiceParam) else p.min for key, p in search.space.items()}


def grid_points(search: SearchSpec) -> list[dict[str, Any]]:
    """Every combination of the space, the first key varying slowest: the grid's fixed order."""
    import itertools

    keys = list(search.space)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(_values(search.space[k]) for k in keys))]


