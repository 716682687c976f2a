"""How a search stands: a record's objective value, the best so far, and each strategy's summary."""



def objective_value(record: dict, objective: str) -> float | None:
    """A record's score for the search objective; None unless the trial completed."""
    if record.get("status") != "complete":
        return None
    if objective == "best_val_accuracy":
        return record["best_metrics"]["val_accuracy"]
    return record["metrics"][objective]


def better(a: float, b: float | None, direction: str) -> bool:
    return b is None or (a > b if direction == "max" else a < b)


def search_block(context: dict, record: dict) -> dict:
    """What a search trial's record keeps: where it stands in its search, and the best so far."""
    value = objective_value(record, context["objective"])
    best = context["best_before"]
    if value is not None and better(value, best, context["direction"]):
        best = value
    return {**context, "objective_value": value, "best_so_far": best}


WITHIN = 0.005  # "near the best": within half a percentage point of accuracy


def strategy_summary(results: dict[str, list[tuple[int, dict, float | None]]], direction: str) -> dict:
    """Per strategy, from (trial number, parameters, score or None): trials, the unscored ones (failed,
    diverged or timed out), the best score, the trial that reached it, and the first trial within
    WITHIN of the best of all strategies."""
    scores = [s for rows in results.values() for _, _, s in rows if s is not None]
    overall = (max(scores) if direction == "max" else min(scores)) if scores else None
    rows = []
    for name, trials in results.items():
        ordered = sorted(trials, key=lambda t: t[0])
        done = [t for t in ordered if t[2] is not None]
        row = {"strategy": name, "trials": len(ordered), "unscored": len(ordered) - len(done), "best": None,
               "at": None, "near_at": None, "params": {}, "curve": []}
        best = None
        for number, _, score in ordered:
            if score is not None and better(score, best, direction):
                best = score
            row["curve"].append((number, best))
        if done:
            number, params, score = (max if direction == "max" else min)(done, key=lambda t: t[2])
            row.update(best=score, at=number, params=params)
            row["near_at"] = next((n for n, _, s in done if abs(s - overall) <= WITHIN), None)
        rows.append(row)
    return {"overall": overall, "rows": rows}
