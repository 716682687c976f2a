"""Specs + data -> the trials a run will make, with ids, sizes and a time estimate (`fer-bench list`)."""

import contextlib
import dataclasses
import fnmatch
import json
import os
import platform
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_bench.data.corrupted import check_makeable
from fer_bench.data.formats import FERData
from fer_bench.data.source import ENV_VAR, load_data, resolve_data_path
from fer_bench.data.splits import Split, describe_splits, sanity_warnings, study_splits
from fer_bench.errors import UserError, WriteError
from fer_bench.models import BUILDERS, ModelCost
from fer_bench.progress import format_seconds
from fer_bench.records import DONE_STATUSES, iter_records
from fer_bench.scheduling.groups import describe_groups
from fer_bench.spec.load import load_spec
from fer_bench.spec.schema import LoadedSpec
from fer_bench.spec.search import first_point, grid_points
from fer_bench.spec.trials import (
    Overrides,
    Trial,
    check_proposal,
    describe_trials,
    expand,
    mean_epochs,
    proposal_trials,
    search_size,
    search_trials,
    strategy_budgets,
)
from fer_bench.storage import cache_dir, write_json_atomic

# A forward pass costs about a third of a training step (forward, backward, update).
FORWARD_SHARE = 1 / 3


@dataclass
class PlannedTrial:
    trial: Trial
    trial_id: str
    data: FERData
    splits: dict[str, Split]
    dropped_from_training: int = 0

    @property
    def cost(self) -> ModelCost | None:
        model = self.trial.config["model"]
        return BUILDERS[model["builder"]].cost_of(model["params"])


class Planner:
    """Splits for each dataset configuration of one data set, computed once and shared."""

    def __init__(self, data: FERData):
        self.data = data
        self._splits: dict[tuple, tuple[dict[str, Split], int]] = {}

    def plan(self, trial: Trial) -> PlannedTrial:
        ds = trial.config["dataset"]
        key = (trial.split_seed, ds["validation_fraction"], ds["max_train_samples"], ds["max_eval_samples"],
               ds["drop_test_duplicates"], ds["drop_blank"], ds["protocol"])
        if key not in self._splits:
            dropped = dropped_rows(self.data, *key[4:6])
            self._splits[key] = (study_splits(self.data, *key[:4], drop_from_training=dropped, protocol=key[6]),
                                 0 if dropped is None else len(dropped))
        splits, n_dropped = self._splits[key]
        return PlannedTrial(trial, trial.trial_id(self.data.fingerprint), self.data, splits, n_dropped)


@dataclass
class PlannedSpec:
    loaded: LoadedSpec
    trials: list[PlannedTrial]  # every trial of a sweep; none for a search, whose trials come as it goes
    planner: Planner
    overrides: Overrides
    only: str | None = None  # `--only PATTERN`: trial ids (a sweep) or strategy names (a search)

    @property
    def name(self) -> str:
        return self.loaded.spec.name

    @property
    def strategies(self) -> list[str]:
        search = self.loaded.spec.search
        return [s for s in search.strategies if self.only is None or fnmatch.fnmatchcase(s, self.only)]


SUMMARY_FORMAT = 1


def source_summary(data: FERData) -> dict:
    """describe_splits of the source's usages, kept in the cache per data fingerprint: it reads every
    pixel (half a second on the full set), and every run checks it."""
    path = cache_dir() / f"summary-{SUMMARY_FORMAT}-{data.fingerprint.rsplit(':', 1)[-1]}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    summary = describe_splits(data)
    with contextlib.suppress(OSError, WriteError):  # an unwritable cache costs the next run half a second
        write_json_atomic(path, summary)
    return summary


def scores_corruptions(spec: LoadedSpec, trials: list[PlannedTrial], overrides: Overrides) -> bool:
    """Whether a trial of the spec (or its search) scores FER-2013-C."""
    if overrides.corruptions is not None:
        return overrides.corruptions == "on"
    return spec.spec.training.corruptions or any(t.trial.config["training"]["corruptions"] for t in trials)


def plan_specs(paths: list[str], data_flag: str | None, overrides: Overrides,
               only: str | None = None, proposal: tuple[str, dict] | None = None) -> list[PlannedSpec]:
    """Validate every spec and load its data before anything trains: bad input fails early. `proposal`
    (`run --params`: its file and values) turns each spec's search into that one proposal's trials."""
    loaded = [load_spec(Path(p)) for p in paths]
    names = [spec.spec.name for spec in loaded]
    for name in names:
        if names.count(name) > 1:
            raise UserError(f"two specs are both named {name!r}: their results would mix")
    if overrides.search_seed and not any(spec.spec.search for spec in loaded):
        raise UserError(f"--search-seed seeds a search; {', '.join(paths)} has no search block")
    for spec in loaded:  # before any data is read
        if proposal is not None:
            check_proposal(spec, proposal[1], proposal[0])
    planners: dict[Path, Planner] = {}
    planned = []
    for spec in loaded:
        source = resolve_data_path(data_flag, spec.spec.dataset.source, spec.path.parent)
        if source not in planners:
            planners[source] = Planner(load_data(source))
            for warning in sanity_warnings(source_summary(planners[source].data)):
                print(f"warning: {source}: {warning}", file=sys.stderr)
        planner = planners[source]
        if planner.data.is_sample and not data_flag and spec.spec.dataset.source != "sample":
            print(f"warning: {spec.path}: no FER-2013 given, so the bundled {len(planner.data.labels)}-image sample "
                  f"stands in and its accuracies say nothing of the model; give the full data with --data PATH or "
                  f"${ENV_VAR}", file=sys.stderr)
        if overrides.search_seed and spec.spec.search:  # the oracles take their seed from the spec
            search = spec.spec.search.model_copy(update={"seed": overrides.search_seed})
            spec = dataclasses.replace(spec, spec=spec.spec.model_copy(update={"search": search}))
        if proposal is not None:
            trials = [planner.plan(t) for t in proposal_trials(spec, overrides, proposal[1], proposal[0])]
            spec = dataclasses.replace(spec, spec=spec.spec.model_copy(update={"search": None}))
        else:
            trials = [planner.plan(t) for t in expand(spec, overrides)]
        if only is not None:
            trials = [t for t in trials if fnmatch.fnmatchcase(t.trial_id, only)]
        if scores_corruptions(spec, trials, overrides):
            check_makeable(planner.data, f"{spec.path}: training.corruptions")
        planned.append(PlannedSpec(spec, trials, planner, overrides, only))
    if only is not None and not any(p.trials or (p.loaded.spec.search and p.strategies) for p in planned):
        raise UserError(f"--only {only!r} matches no trial id of a sweep and no strategy of a search in "
                        f"{', '.join(paths)} (`fer-bench list` shows the ids; a glob, e.g. 'dropout-0.25_*')")
    return planned


def dropped_rows(data: FERData, test_duplicates: bool, blank: bool) -> np.ndarray | None:
    """Training rows that a spec's dataset.drop_* options remove before the split."""
    if not (test_duplicates or blank):
        return None
    from fer_bench.data.audit import copies_among, load_audit

    audit = load_audit(data)
    training = data.indices("Training")
    drop = []
    if test_duplicates:
        tests = np.concatenate([data.indices("PublicTest"), data.indices("PrivateTest")])
        drop.append(training[copies_among(audit, training, tests)])
    if blank:
        drop.append(np.intersect1d(training, np.array(audit["blank"], dtype=int)))
    return np.unique(np.concatenate(drop)).astype(int)


def measured_rates(results: Path) -> dict:
    """Training speed seen on this host and backend in earlier records: per model and in MACs/s."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    per_model: dict[str, list[float]] = {}
    mac_rates = []
    if results.is_dir():
        for _, record in iter_records(results):
            env, timing, model = record.get("environment", {}), record.get("timing", {}), record.get("model")
            ips = timing.get("steady_train_images_per_s")
            if env.get("host") != platform.node() or env.get("backend") != backend or not ips or not model:
                continue
            per_model.setdefault(_model_key(record["config"]["model"]), []).append(ips)
            mac_rates.append(ips * model["macs_per_image"])
    return {"per_model": {k: statistics.median(v) for k, v in per_model.items()},
            "macs_per_s": statistics.median(mac_rates) if mac_rates else None}


def _model_key(model: dict) -> str:
    return repr(sorted(model["params"].items())) + model["builder"]


def estimate_seconds(planned: PlannedTrial, rates: dict) -> float | None:
    ips = rates["per_model"].get(_model_key(planned.trial.config["model"]))
    cost = planned.cost
    if ips is None and rates["macs_per_s"] and cost is not None:
        ips = rates["macs_per_s"] / cost.macs
    if ips is None:
        return None
    n = {name: len(split.indices) for name, split in planned.splits.items()}
    epochs = planned.trial.config["training"]["epochs"]
    forward = FORWARD_SHARE * ips
    return epochs * (n["train"] / ips + n["validation"] / forward) + (n["public_test"] + n["private_test"]) / forward


def done_ids(results: Path, spec_name: str) -> dict[str, str]:
    spec_dir = results / spec_name
    if not spec_dir.is_dir():
        return {}
    return {r["trial_id"]: r["status"] for _, r in iter_records(spec_dir)}


def _power_note(results: Path, spec: PlannedSpec) -> str | None:
    """What the seeds of this plan could tell apart, from the spread of earlier complete runs of the spec."""
    from fer_bench.report.power import planning_note

    spec_dir = results / spec.name
    if spec.loaded.spec.search is not None or not spec.trials or not spec_dir.is_dir():
        return None
    values: dict[str, list[float]] = {}
    for _, record in iter_records(spec_dir):
        score = (record.get("metrics") or {}).get("val_accuracy")
        if record.get("status") == "complete" and isinstance(score, (int, float)):
            values.setdefault(record.get("variant"), []).append(float(score))
    seeds = len({t.trial.seed for t in spec.trials})
    return planning_note(values, seeds)


def _listed(spec: PlannedSpec) -> tuple[list[PlannedTrial], list[tuple[str, int]], PlannedTrial]:
    """The trials known before a run, per oracle strategy how many it will propose, and a trial to
    size the others by."""
    search = spec.loaded.spec.search
    if search is None:
        return spec.trials, [], spec.trials[0]
    gridded = "grid" in spec.strategies
    points = grid_points(search)[:spec.overrides.max_trials] if gridded else [first_point(search)]
    listed = [spec.planner.plan(t) for number, values in enumerate(points, start=1)
              for t in search_trials(spec.loaded, spec.overrides, "grid", number, values)]
    per_strategy, executions = search_size(spec.loaded, spec.overrides)
    later = [(name, n * executions) for name, n in per_strategy.items() if name != "grid" and name in spec.strategies]
    return listed if gridded else [], later, listed[0]


def plan_rows(planned: list[PlannedSpec], results: Path) -> list[dict]:
    """What `list` shows, as rows: each trial known before the run (a sweep's, a search's grid) with its
    state in `results`, size, epochs, estimated seconds and parameters; per oracle strategy of a search, one
    row counting the trials it will propose (`trial_id` None)."""
    rates = measured_rates(results)
    rows = []
    for spec in planned:
        if not spec.trials and spec.loaded.spec.search is None:
            continue  # --only left none of it
        listed, later, first = _listed(spec)
        recorded = done_ids(results, spec.loaded.spec.name)
        for planned_trial in listed:
            trial, cost = planned_trial.trial, planned_trial.cost
            state = recorded.get(planned_trial.trial_id, "pending")
            seconds = 0.0 if state in DONE_STATUSES else estimate_seconds(planned_trial, rates)
            rows.append({"spec": spec.name, "trial_id": planned_trial.trial_id, "variant": trial.variant,
                         "seed": trial.seed, "strategy": (trial.search or {}).get("strategy"), "trials": 1,
                         "state": state, "parameters": cost.parameters if cost else None,
                         "macs_per_image": cost.macs if cost else None,
                         "epochs": trial.config["training"]["epochs"], "estimated_s": seconds,
                         "params": dict(trial.params)})
        for name, count in later:
            seconds = estimate_seconds(first, rates)
            epochs = mean_epochs(spec.loaded, spec.overrides, name)
            if seconds is not None:
                seconds *= epochs / first.trial.config["training"]["epochs"]
            rows.append({"spec": spec.name, "trial_id": None, "variant": None, "seed": None, "strategy": name,
                         "trials": count, "state": "proposed as the search runs",
                         "parameters": first.cost.parameters if first.cost else None,
                         "macs_per_image": first.cost.macs if first.cost else None, "epochs": epochs,
                         "estimated_s": None if seconds is None else seconds * count, "params": {}})
    return rows


def _budget_line(budgets: dict[str, tuple[int, int]]) -> str:
    """Per strategy the most epochs a configuration trains and the epochs in all; a warning where the
    first differ, since a strategy given more epochs per configuration can win by them alone."""
    line = "  epochs per configuration (most) / in all: " + ", ".join(
        f"{name} {most} / {total}" for name, (most, total) in budgets.items())
    if len({most for most, _ in budgets.values()}) > 1:
        line += "; the strategies' budgets per configuration differ"
    return line


def print_plan(planned: list[PlannedSpec], results: Path) -> None:
    rows = plan_rows(planned, results)
    for spec in planned:
        if not spec.trials and spec.loaded.spec.search is None:
            continue
        _, _, first = _listed(spec)
        n = {k: len(v.indices) for k, v in first.splits.items()}
        count = describe_trials(spec.loaded, spec.overrides)
        if spec.only and spec.loaded.spec.search is None:
            count = f"{len(spec.trials)} of {count} (--only {spec.only})"
        print(f"{spec.loaded.spec.name} ({spec.loaded.path}): {count} on "
              f"{first.data.describe()['source']} data {first.data.fingerprint}; "
              f"train {n['train']}, validation {n['validation']}, tests {n['public_test']}+{n['private_test']}")
        note = _power_note(results, spec)
        if note:
            print(f"  {note}")
        mine = [row for row in rows if row["spec"] == spec.name]
        for row in (r for r in mine if r["trial_id"] is not None):
            params = ", ".join(f"{k}={v}" for k, v in row["params"].items()) or "(spec as written)"
            size = f"{row['parameters']:>11,} params {row['macs_per_image'] / 1e6:>9.1f} MMAC/img" \
                if row["macs_per_image"] is not None else f"{'?':>11} params {'?':>9} MMAC/img"
            seconds = row["estimated_s"]
            print(f"  {row['trial_id']:<44} {row['state']:<9} {size}  {row['epochs']:>3} epochs  "
                  f"~{format_seconds(seconds) if seconds is not None else '?':>7}  {params}")
        for line in describe_groups(spec.trials if spec.loaded.spec.search is None else []):
            print(line)
        for row in (r for r in mine if r["trial_id"] is None):
            each = row["estimated_s"] / row["trials"] if row["estimated_s"] is not None else None
            print(f"  {row['strategy']}: {row['trials']} trials that Keras Tuner's oracle proposes as the search runs, "
                  f"{row['epochs']:.3g} epochs and ~{format_seconds(each) if each is not None else '?'} each on "
                  "average (estimated at the space's first point)")
        if spec.loaded.spec.search is not None and spec.strategies:
            budgets = strategy_budgets(spec.loaded, spec.overrides)
            print(_budget_line({name: budgets[name] for name in spec.strategies}))
    total = sum(row["estimated_s"] or 0.0 for row in rows)
    unknown = sum(row["trials"] for row in rows if row["estimated_s"] is None)
    note = (f" ({unknown} trials without a measured rate on this host and backend yet: run one trial, "
            "e.g. fer-bench run benchmark/smoke.yaml)") if unknown else ""
    print(f"estimated time for pending trials: ~{format_seconds(total)}{note}")
    print("MMAC/img: million multiply-accumulates of conv and dense kernels per image (forward pass)")
