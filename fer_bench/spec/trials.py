"""A validated spec -> its trials: variants x grid points x seeds (or one search proposal), with ids."""

import copy
import difflib
import hashlib
import itertools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fer_bench.errors import UserError
from fer_bench.spec.base import MAX_TRIALS
from fer_bench.spec.schema import LATER_KEYS, SWEEPABLE_ROOTS, LoadedSpec, SweepSpec, validate_spec
from fer_bench.spec.search import hyperband_budget

LOOPS = ("fit", "device")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
SWITCH = ("on", "off")
GROUP_SIZES = "a group size N > 0, auto or off"


def is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def override_problem(key: str, value) -> str | None:
    """What an override allows, when `value` is not among it; None when it is. The CLI's flag types and
    the Python API check their values here."""
    if key == "loop":
        return None if value in LOOPS else " or ".join(LOOPS)
    if key == "precision":
        return None if value in PRECISIONS else " or ".join(PRECISIONS)
    if key in ("trial_timeout", "budget"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        return None if ok else "a positive number of seconds"
    if key == "together":
        return None if value in ("auto", "off") or is_count(value) else GROUP_SIZES
    if key == "corruptions":
        return None if value in SWITCH else " or ".join(SWITCH)
    return None if is_count(value) else "a positive integer"


@dataclass(frozen=True)
class Overrides:
    """CLI flags that change what a trial does; each is recorded and enters the trial id. `max_trials`
    is the exception: it limits how many trials a search proposes, not what one does."""

    epochs: int | None = None
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    seeds: int | None = None
    trial_timeout: float | None = None
    budget: float | None = None
    loop: str | None = None
    max_trials: int | None = None
    precision: str | None = None  # "float32" is the spec's default, null
    search_seed: int | None = None  # search.seed: the oracles' seed; enters the ids of random and Bayesian trials
    together: int | str | None = None  # training.together: how trials train, not what; it enters no id
    corruptions: str | None = None  # "on" or "off": training.corruptions, what is scored (FER-2013-C)

    @classmethod
    def checked(cls, **values) -> "Overrides":
        """Overrides from Python values (None: not given), each checked as its CLI flag checks it."""
        given = {key: value for key, value in values.items() if value is not None}
        for key, value in given.items():
            if allowed := override_problem(key, value):
                raise UserError(f"{key}: expected {allowed}, got {value!r}")
        return cls(**given)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None and k != "max_trials"}

    def dotted(self) -> dict[str, Any]:
        paths = {"epochs": "training.epochs", "max_train_samples": "dataset.max_train_samples",
                 "max_eval_samples": "dataset.max_eval_samples", "trial_timeout": "training.timeout_s",
                 "budget": "training.budget_s", "loop": "training.loop", "precision": "training.mixed_precision",
                 "together": "training.together", "corruptions": "training.corruptions"}
        values = {**self.as_dict(), **({"corruptions": self.corruptions == "on"} if self.corruptions else {})}
        return {paths[k]: None if (k, v) == ("precision", "float32") else v for k, v in values.items() if k in paths}


@dataclass(frozen=True)
class Trial:
    spec_name: str
    variant: str
    params: dict[str, Any]
    seed: int
    config: dict[str, Any]  # the resolved dataset, model and training sections
    overrides: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] | None = None  # {"strategy", "trial_number", "search_seed"} for a search's trial

    @property
    def split_seed(self) -> int:
        """The seed of the train/validation split this trial trains on: its own seed under `per_seed`."""
        chosen = self.config["dataset"]["split_seed"]
        return self.seed if chosen == "per_seed" else chosen

    @property
    def slug(self) -> str:
        if self.search:
            return f"{self.search['strategy']}-{self.search['trial_number']:03d}_{self.variant}_s{self.seed}"
        return f"{self.variant}_s{self.seed}"

    def trial_id(self, data_fingerprint: str) -> str:
        hashed = copy.deepcopy(self.config)
        hashed["dataset"].pop("source", None)  # the fingerprint stands for the data, not its path
        hashed["training"].pop("together", None)  # a member of a group trains as it would alone
        for path, default in LATER_KEYS.items():
            *parents, leaf = path
            node = hashed
            for part in parents:
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict) and leaf in node and node[leaf] == default:
                del node[leaf]
        identity = {"spec": self.spec_name, "config": hashed, "seed": self.seed, "data": data_fingerprint}
        if self.search:  # equal parameters under two strategies are two trials
            identity["strategy"] = self.search["strategy"]
            # ... and under two seeds of an oracle (the grid's points do not depend on it); seed 1, the
            # default, stays out, so the ids of searches run before the seed was kept are unchanged
            if self.search.get("search_seed", 1) != 1 and self.search["strategy"] not in ("grid", "wandb"):
                identity["search_seed"] = self.search["search_seed"]
            # ... and a Hyperband trial continued from another differs from one trained from scratch
            if (rung := self.search.get("rung")) and rung["continues"]:
                identity["continues"] = [rung["continues"], rung["initial_epoch"]]
        blob = json.dumps(identity, sort_keys=True)
        return f"{self.slug}_{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


def describe_trials(loaded: LoadedSpec, overrides: Overrides) -> str:
    """How many trials a spec makes, in words (a search: per strategy, each over its executions)."""
    search = loaded.spec.search
    if search is None:
        return f"{len(expand(loaded, overrides))} trials"
    per_strategy, executions = search_size(loaded, overrides)
    parts = " + ".join(f"{name} {n}" for name, n in per_strategy.items())
    return f"search: {parts} trials x {executions} execution{'s' if executions > 1 else ''}, by {search.objective}"


def search_size(loaded: LoadedSpec, overrides: Overrides) -> tuple[dict[str, int], int]:
    """Per strategy the proposals a search makes, and the executions (seeds) of each."""
    search = loaded.spec.search
    per_strategy = search.trials_per_strategy(overrides.max_trials, hyperband_max_epochs(loaded, overrides))
    return per_strategy, overrides.seeds or search.executions


def check_search_size(loaded: LoadedSpec, overrides: Overrides) -> None:
    """At most MAX_TRIALS, counted with the flags: Hyperband's count follows its epochs (--epochs, else
    search.hyperband.max_epochs, else training.epochs), and --seeds sets the executions."""
    per_strategy, executions = search_size(loaded, overrides)
    total = sum(per_strategy.values()) * executions
    if total > MAX_TRIALS:
        raise UserError(f"{loaded.path}: search: {total:,} trials (per strategy: max_trials, the grid's points or "
                        f"Hyperband's brackets, x executions {executions:,}); at most {MAX_TRIALS:,} per spec")


def check_search_space(loaded: LoadedSpec) -> None:
    """Resolve the spec at each end of every searched key (the others at their first value)."""
    space = loaded.spec.search.space
    first = {key: param.representatives()[0] for key, param in space.items()}
    for key, param in space.items():
        for value in param.representatives():
            search_trials(loaded, Overrides(), "check", 0, {**first, key: value})


def search_trials(loaded: LoadedSpec, overrides: Overrides, strategy: str, number: int,
                  values: dict[str, Any], rung: dict | None = None) -> list[Trial]:
    """The trials of one search proposal: its parameters applied to the spec, once per execution seed.

    `rung`, a Hyperband proposal's: the epochs its trials reach (over the spec's and --epochs), the
    epoch they start from, and the trials they continue (`continued_from`: one id per seed, or None)."""
    spec, path = loaded.spec, loaded.path
    settings = [(key, value, "search.space", f"search.space {key}={value!r}") for key, value in values.items()]
    config = _resolve(spec.model_dump(mode="json", exclude={"search"}), settings, overrides, path)
    if rung is not None:
        config["training"]["epochs"] = rung["epochs"]
    variant = slugify("_".join(f"{k.rsplit('.', 1)[-1]}-{value_label(v)}" for k, v in values.items()))
    executions = overrides.seeds or spec.search.executions
    earlier = (rung or {}).get("continued_from") or [None] * executions
    return [Trial(spec.name, variant, dict(values), seed, config, overrides.as_dict(),
                  {"strategy": strategy, "trial_number": number,
                   "search_seed": overrides.search_seed or spec.search.seed,
                   **({"rung": {**rung, "continued_from": earlier[seed]}} if rung is not None else {})})
            for seed in range(executions)]


def recorded_search_trials(loaded: LoadedSpec, overrides: Overrides, search: dict, params: dict) -> list[Trial]:
    """The trials the spec makes for a recorded search trial (its record's `search` block and `params`):
    a Hyperband trial's epochs and the trial it continues are in its id."""
    rung = search.get("rung")
    return search_trials(loaded, overrides, search["strategy"], search["trial_number"], params,
                         rung and {**rung, "continued_from": None})


def hyperband_max_epochs(loaded: LoadedSpec, overrides: Overrides) -> int:
    """The epochs Hyperband's last round trains to: --epochs, else search.hyperband.max_epochs, else the
    spec's training.epochs."""
    return overrides.epochs or loaded.spec.search.hyperband.max_epochs or loaded.spec.training.epochs


def mean_epochs(loaded: LoadedSpec, overrides: Overrides, strategy: str) -> float:
    """The epochs a search trial of `strategy` trains, on average: the spec's; Hyperband's over its rounds,
    a continued trial training only its new epochs."""
    if strategy != "hyperband":
        return overrides.epochs or loaded.spec.training.epochs
    trials, epochs = hyperband_budget(hyperband_max_epochs(loaded, overrides), loaded.spec.search.hyperband.factor)
    return epochs / trials


def strategy_budgets(loaded: LoadedSpec, overrides: Overrides) -> dict[str, tuple[int, int]]:
    """Per strategy of a search: (the most epochs one configuration trains, the epochs of the whole search,
    every execution counted), as planned."""
    per_strategy, executions = search_size(loaded, overrides)
    budgets = {}
    for name, count in per_strategy.items():
        most = hyperband_max_epochs(loaded, overrides) if name == "hyperband" else \
            overrides.epochs or loaded.spec.training.epochs
        budgets[name] = (most, round(count * executions * mean_epochs(loaded, overrides, name)))
    return budgets


def proposal_trials(loaded: LoadedSpec, overrides: Overrides, values: dict[str, Any], source: str) -> list[Trial]:
    """`run --params`: one proposal of the spec's search made elsewhere (a W&B sweep agent's), as a search
    trial of its own strategy ("wandb"): its trial ids never meet those of the spec's own strategies."""
    check_proposal(loaded, values, source)
    return search_trials(loaded, overrides, "wandb", 0, {key: values[key] for key in loaded.spec.search.space})


def check_proposal(loaded: LoadedSpec, values: Any, source: str) -> None:
    """Every key of the search space given a value, and no other key; the values are checked as trials."""
    search = loaded.spec.search
    if search is None:
        raise UserError(f"{source}: --params sets the keys of a spec's search.space; {loaded.path} has no search block")
    allowed = ", ".join(search.space)
    if not isinstance(values, dict):
        raise UserError(f"{source}: --params needs a JSON object of search.space keys ({allowed})")
    for key in values:
        if key not in search.space:
            raise UserError(f"{source}: key {key!r} is not in {loaded.path}'s search.space; allowed: {allowed}")
    for key in search.space:
        if key not in values:
            raise UserError(f"{source}: no value for {key!r}; give every key of {loaded.path}'s search.space: "
                            f"{allowed}")


def _resolve(doc: dict, settings: list[tuple[str, Any, str, str]], overrides: Overrides, path: Path) -> dict:
    """The validated dataset, model and training sections of `doc` with `settings` applied.

    A setting is (dotted key, value, where it was given, how to name it in an error).
    """
    labels = []
    for key, value, where, label in settings:
        _set_path(doc, key, value, path, where)
        if label not in labels:
            labels.append(label)
    for key, value in overrides.dotted().items():
        _set_path(doc, key, value, path, "command-line override")
    resolved = validate_spec(doc, path, context=", ".join(labels))
    return resolved.model_dump(mode="json", include=set(SWEEPABLE_ROOTS))


def expand(loaded: LoadedSpec, overrides: Overrides) -> list[Trial]:
    """Every trial of the spec: variants x grid points x seeds, in a fixed order; none for a search (its size
    checked)."""
    spec, path = loaded.spec, loaded.path
    if spec.search is not None:
        check_search_size(loaded, overrides)  # a search's trials are proposed as it runs: counted, none made
        return []
    base = spec.model_dump(mode="json")
    sweep = spec.sweep or SweepSpec()
    variants = sweep.variants or [None]
    grid_keys = list(sweep.grid)
    seed_count = overrides.seeds or (spec.seeds if isinstance(spec.seeds, int) else len(spec.seeds))
    count = len(variants) * math.prod(len(sweep.grid[k]) for k in grid_keys) * seed_count
    if count > MAX_TRIALS:  # counted before they are built: 10^8 seeds would take minutes and gigabytes
        raise UserError(f"{path}: {count:,} trials (variants x grid points x seeds); at most {MAX_TRIALS:,} per "
                        f"spec: split it into several specs, or use a search")
    seeds = list(range(overrides.seeds)) if overrides.seeds else spec.seed_list
    trials = []
    for variant in variants:
        for values in itertools.product(*(sweep.grid[k] for k in grid_keys)):
            params, labels, settings = {}, [], []
            if variant is not None:
                index = sweep.variants.index(variant)
                settings += [(key, value, f"sweep.variants[{index}].set", f"variant {variant.name!r}")
                             for key, value in variant.set.items()]
                params.update(variant.set)
                labels.append(variant.name)
            for key, value in zip(grid_keys, values):
                settings.append((key, value, "sweep.grid", f"sweep.grid {key}={value!r}"))
                params[key] = value
                labels.append(f"{key.rsplit('.', 1)[-1]}-{value_label(value)}")
            config = _resolve(copy.deepcopy(base), settings, overrides, path)
            variant_label = slugify("_".join(labels) or "base")
            for seed in seeds:
                trials.append(Trial(spec.name, variant_label, params, seed, config, overrides.as_dict()))
    duplicates = sorted(slug for slug, n in Counter(t.slug for t in trials).items() if n > 1)
    if duplicates:
        raise UserError(f"{path}: sweep: two trials share the name {duplicates[0]!r}; make the variants differ")
    return trials


def _set_path(doc: dict, dotted: str, value: Any, path: Path, where: str) -> None:
    parts = dotted.split(".")
    if parts[0] not in SWEEPABLE_ROOTS:
        raise UserError(f"{path}: {where}: {dotted!r} cannot be swept; keys start with "
                        f"{', '.join(r + '.' for r in SWEEPABLE_ROOTS)}")
    node = doc
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth]) or "the spec"
        if not isinstance(node, dict):
            raise UserError(f"{path}: {where}: {dotted!r}: {here} is not a mapping"
                            + (" (it is null: enable it with a mapping first)" if node is None else ""))
        if part not in node:
            hint = difflib.get_close_matches(part, list(node), n=1)
            did_you_mean = f"; did you mean {'.'.join([*parts[:depth], hint[0]])!r}?" if hint else ""
            raise UserError(f"{path}: {where}: {dotted!r}: no key {part!r} in {here}{did_you_mean}")
        if depth == len(parts) - 1:
            node[part] = copy.deepcopy(value)
        else:
            node = node[part]


def value_label(value: Any) -> str:
    """A parameter value as it appears in variant names and trial ids."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return "-".join(value_label(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}".replace("+", "")
    if value is None:
        return "none"
    if isinstance(value, dict):
        return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:6]
    return str(value)


def slugify(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "trial"
