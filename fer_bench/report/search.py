"""The search part of a spec's report: strategies side by side, best so far against trials, epochs and
training seconds (over search seeds where several ran), and parameters against score."""

import statistics
from dataclasses import dataclass, field

import pandas as pd

from fer_bench.report import hyperband, search_figures, tuning
from fer_bench.report.frames import budget
from fer_bench.search.summary import WITHIN, better
from fer_bench.spec.search import STRATEGIES


@dataclass
class SearchRun:
    """One strategy under one search seed: its proposals in order, each with its score and compute."""

    strategy: str
    seed: int
    proposals: list[dict] = field(default_factory=list)  # number, params, score, epochs, seconds, tests

    def curve(self, direction: str) -> list[tuple[int, int, float, float | None]]:
        """(trials, epochs, training seconds, best score so far) after each proposal, compute cumulative."""
        points, epochs, seconds, best = [], 0, 0.0, None
        for count, proposal in enumerate(self.proposals, 1):
            epochs, seconds = epochs + proposal["epochs"], seconds + proposal["seconds"]
            if proposal["score"] is not None and better(proposal["score"], best, direction):
                best = proposal["score"]
            points.append((count, epochs, seconds, best))
        return points


def search_runs(records: list[dict]) -> list[SearchRun]:
    """The search's records as runs per strategy and search seed, proposals in trial order."""
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        search = record["search"]
        key = (search["strategy"], search.get("search_seed", 1), search["trial_number"])
        groups.setdefault(key, []).append(record)
    runs: dict[tuple, SearchRun] = {}
    for (strategy, seed, number), group in sorted(groups.items(), key=lambda item: (
            STRATEGIES.index(item[0][0]), item[0][1], item[0][2])):
        values = [r["search"]["objective_value"] for r in group]
        complete = None not in values
        runs.setdefault((strategy, seed), SearchRun(strategy, seed)).proposals.append({
            "number": number, "params": group[0]["params"], "budget": budget(group[0]),
            "score": statistics.fmean(values) if complete else None,
            "epochs": sum(len(r.get("history") or []) for r in group),
            "seconds": sum((r.get("timing") or {}).get("fit_s") or 0.0 for r in group),
            "tests": {split: statistics.fmean(r["metrics"][f"{split}_accuracy"] for r in group)
                      for split in ("public_test", "private_test")} if complete else {}})
    return list(runs.values())


def search_section(name: str, records: list[dict], store) -> dict | None:
    """None for a spec that is not a search; else its per-strategy table and figures."""
    searched = [r for r in records if r.get("search")]
    if not searched:
        return None
    first = searched[0]["search"]
    direction, objective = first["direction"], first["objective"]
    runs = search_runs(searched)
    scores = [p["score"] for run in runs for p in run.proposals if p["score"] is not None]
    overall = (max(scores) if direction == "max" else min(scores)) if scores else None
    several_seeds = len({run.seed for run in runs}) > 1
    rows = [run_row(run, overall, direction, several_seeds) for run in runs]
    section = {"objective": objective, "direction": direction, "within": WITHIN, "overall": overall, "rows": rows,
               "figures": [], "hyperband": hyperband.rounds(searched), "several_seeds": several_seeds,
               "budgets": budget_note(searched), "tuning": []}
    if overall is None:
        return section
    section["tuning"] = tuning.tuning_section(name, searched, store)
    curves: dict[str, list] = {}
    for run in runs:
        curves.setdefault(run.strategy, []).append(run.curve(direction))
    spread = " (line: the median over search seeds; band: their range)" if several_seeds else ""
    section["figures"].append((
        f"Best {objective} so far against trials (the study's figure 3.3), training epochs and training seconds "
        f"spent, per strategy{spread}; best of all {overall:.4f}",
        store.add(f"{name}-best-so-far", search_figures.best_so_far(curves, objective))))
    top = next(r for r in rows if r["best"] == overall)
    full = max(p["budget"][0] or 0 for run in runs for p in run.proposals)
    results = {run.strategy + (f" seed {run.seed}" if several_seeds else ""):
               [(p["number"], p["params"], p["score"]) for p in run.proposals if p["budget"][0] == full]
               for run in runs}
    section["figures"].append((
        f"Each searched parameter against {objective}; every completed trial at the full budget of {full} epochs, "
        f"coloured by strategy; best: {top['params_text']} ({top['strategy']} trial {top['at']})",
        store.add(f"{name}-parameters", search_figures.parameter_scores(results, objective))))
    return section


def run_row(run: SearchRun, overall: float | None, direction: str, several_seeds: bool) -> dict:
    """A strategy's line: its best and where, and the compute it took to come within WITHIN of the best of all."""
    done = [p for p in run.proposals if p["score"] is not None]
    curve = run.curve(direction)
    row = {"strategy": run.strategy + (f" (seed {run.seed})" if several_seeds else ""), "trials": len(run.proposals),
           "unscored": len(run.proposals) - len(done), "best": None, "at": None, "near_at": None, "params": {},
           "params_text": "", "tests": {}, "epochs": curve[-1][1] if curve else 0,
           "seconds": curve[-1][2] if curve else 0.0, "near_epochs": None, "near_seconds": None}
    if not done:
        return row
    best = (max if direction == "max" else min)(done, key=lambda p: p["score"])
    row.update(best=best["score"], at=best["number"], params=best["params"], tests=best["tests"],
               params_text=", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in best["params"].items()))
    for proposal, (_, epochs, seconds, _) in zip(run.proposals, curve):
        if proposal["score"] is not None and abs(proposal["score"] - overall) <= WITHIN:
            row.update(near_at=proposal["number"], near_epochs=epochs, near_seconds=seconds)
            break
    return row


def budget_note(records: list[dict]) -> str:
    """A sentence when the strategies did not give each configuration the same most epochs, else ""."""
    most: dict[str, int] = {}
    for record in records:
        strategy, (epochs, _) = record["search"]["strategy"], budget(record)
        if epochs is not None:
            most[strategy] = max(most.get(strategy, 0), epochs)
    if len(set(most.values())) < 2:
        return ""
    ordered = sorted(most.items(), key=lambda item: (item[1], _place(item[0])))
    by_epochs: dict[int, list[str]] = {}
    for strategy, epochs in ordered:
        by_epochs.setdefault(epochs, []).append(strategy)
    parts = [f"{_listed(names)} {'train' if len(names) > 1 else 'trains'} each configuration at most "
             f"{epochs} epoch{'' if epochs == 1 else 's'}" for epochs, names in by_epochs.items()]
    return (f"The strategies' budgets differ: {'; '.join(parts)}. A strategy allowed more epochs per configuration "
            "can win by the epochs alone; compare them at one budget.")


def distinct_runs(complete: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct training. In a search the same configuration trained under the same seed to the
    same epochs, on the same data, backend and device, by several strategies or search seeds, is one
    deterministic computation: one measurement, not several seeds. `trained_by` names the strategies that
    ran it, `copies` how many records it has."""
    key = ["variant", "seed", "backend", "device", "data_fingerprint", "n_train"]
    frame = complete.copy()
    groups = frame.groupby(key, dropna=False, sort=False)
    frame["trained_by"] = groups["strategy"].transform(lambda s: ", ".join(in_strategy_order(s)))
    frame["copies"] = groups["trial_id"].transform("size")
    return frame.drop_duplicates(key)


def in_strategy_order(strategies) -> list[str]:
    """The distinct strategy names among `strategies`, in the spec schema's order (others, such as a W&B
    sweep's proposals, last)."""
    return sorted({s for s in strategies if isinstance(s, str) and s}, key=_place)


def _place(strategy: str) -> int:
    return STRATEGIES.index(strategy) if strategy in STRATEGIES else len(STRATEGIES)


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
