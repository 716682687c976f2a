"""The search part of a spec's report: strategies side by side, best so far, parameters against score."""

import statistics

from fer_bench.report import figures
from fer_bench.search.summary import WITHIN, strategy_summary
from fer_bench.spec.search import STRATEGIES


def search_section(name: str, records: list[dict], store) -> dict | None:
    """None for a spec that is not a search; else its per-strategy table and figures."""
    searched = [r for r in records if r.get("search")]
    if not searched:
        return None
    first = searched[0]["search"]
    direction, objective = first["direction"], first["objective"]
    proposals: dict[tuple, list[dict]] = {}
    for record in searched:
        proposals.setdefault((record["search"]["strategy"], record["search"]["trial_number"]), []).append(record)
    present = {strategy for strategy, _ in proposals}
    results: dict[str, list[tuple]] = {s: [] for s in STRATEGIES if s in present}
    tests = {}
    for (strategy, number), group in sorted(proposals.items(), key=lambda item: item[0][1]):
        values = [r["search"]["objective_value"] for r in group]
        score = None if any(v is None for v in values) else statistics.fmean(values)
        results[strategy].append((number, group[0]["params"], score))
        if score is not None:
            tests[(strategy, number)] = {split: statistics.fmean(r["metrics"][f"{split}_accuracy"] for r in group)
                                         for split in ("public_test", "private_test")}
    summary = strategy_summary(results, direction)
    for row in summary["rows"]:
        row["tests"] = tests.get((row["strategy"], row["at"]), {})
        row["params_text"] = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in row["params"].items())
    section = {"objective": objective, "direction": direction, "within": WITHIN, "overall": summary["overall"],
               "rows": summary["rows"], "figures": []}
    if summary["overall"] is None:
        return section
    section["figures"].append((
        f"Best {objective} so far against trial number, per strategy (the study's figure 3.3); best of all "
        f"{summary['overall']:.4f}",
        store.add(f"{name}-best-so-far", figures.best_so_far({r["strategy"]: r["curve"] for r in summary["rows"]},
                                                             objective))))
    top = next(r for r in summary["rows"] if r["best"] == summary["overall"])
    section["figures"].append((
        f"Each searched parameter against {objective}; every completed trial, coloured by strategy; best: "
        f"{top['params_text']} ({top['strategy']} trial {top['at']})",
        store.add(f"{name}-parameters", figures.parameter_scores(results, objective))))
    return section
