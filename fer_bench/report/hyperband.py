"""Hyperband's rounds in a search's report: per search seed, bracket and round, the trials, the epochs
they reached and trained, their best score, and which earlier trials they continued."""

from fer_bench.search.summary import better


def rounds(records: list[dict]) -> list[dict]:
    """One row per (search seed, bracket, round), widest bracket and first round first; none without Hyperband."""
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        search = record["search"]
        if search["strategy"] == "hyperband" and search.get("rung"):
            rung = search["rung"]
            groups.setdefault((search.get("search_seed", 1), -rung["bracket"], rung["round"]), []).append(record)
    rows = []
    for (seed, bracket, round_), group in sorted(groups.items()):
        direction = group[0]["search"]["direction"]
        best, best_number = None, None
        for record in group:
            value = record["search"]["objective_value"]
            if value is not None and better(value, best, direction):
                best, best_number = value, record["search"]["trial_number"]
        rungs = [r["search"]["rung"] for r in group]
        rows.append({"seed": seed, "bracket": -bracket, "round": round_,
                     "trials": len({r["search"]["trial_number"] for r in group}),
                     "epochs": rungs[0]["epochs"], "from_epoch": rungs[0]["initial_epoch"],
                     "trained": sum(len(r.get("history") or []) for r in group), "best": best, "best_at": best_number,
                     "continued": sorted({g["continues"] for g in rungs if g["continues"]})})
    return rows
