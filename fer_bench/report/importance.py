"""Which parameter mattered: over the trials of a spec that varies two or more parameters (a search, or
a sweep over several keys), each parameter's share of the objective's variance by fANOVA, through
Optuna's importance module, with the records loaded as an in-memory Optuna study. Optuna also draws the
parallel-coordinates view; nothing of the method is fer-bench's own."""

import json
import warnings

from fer_bench.report.figures import plt, png_bytes
from fer_bench.report.frames import budget, training_key
from fer_bench.report.search_figures import parameter_scores

MIN_TRIALS = 5  # fewer points than this and a random forest's importances are noise
SEED = 0


def objective_rows(records: list[dict]) -> tuple[str, str, list[tuple[dict, float]], str]:
    """(objective, direction, [(parameters, value)], which trials entered) of the completed trials: a search's
    own objective, else validation accuracy. A search's rows are its trials at the full budget (the most epochs
    any configuration got; Hyperband's shorter rounds left out), each distinct training once: a parameter's
    share of the variance is then not the share of the epochs it happened to get, nor of its repeats."""
    search = next((r["search"] for r in records if r.get("search")), None)
    objective, direction = (search["objective"], search["direction"]) if search else ("val_accuracy", "max")
    done = [r for r in records if r.get("status") == "complete" and r.get("params")]
    if not search:
        rows = [(r["params"], float(r["metrics"]["val_accuracy"])) for r in done
                if (r.get("metrics") or {}).get("val_accuracy") is not None]
        return objective, direction, rows, f"{len(rows)} completed trials"
    done = [r for r in done if r["search"].get("objective_value") is not None]
    full = max((budget(r)[0] or 0 for r in done), default=0)
    distinct: dict[str, tuple[dict, float]] = {}
    for record in done:
        if budget(record)[0] == full:
            distinct.setdefault(training_key(record), (record["params"], float(record["search"]["objective_value"])))
    shorter = sum(budget(r)[0] != full for r in done)
    at_full = len(done) - shorter
    repeats = at_full - len(distinct)
    notes = [f"{shorter} at fewer epochs left out"] * bool(shorter) + \
        [f"{repeats} repeat{'' if repeats == 1 else 's'} of a training counted once"] * bool(repeats)
    entered = (f"{len(distinct)} distinct completed trials at the full budget of {full} epoch{'' if full == 1 else 's'}"
               + (f" ({', '.join(notes)})" if notes else ""))
    return objective, direction, list(distinct.values()), entered


def varied(rows: list[tuple[dict, float]]) -> list[str]:
    """The parameters that take two or more values across the rows, in the order they are given."""
    keys = list(dict.fromkeys(key for params, _ in rows for key in params))
    return [k for k in keys if len({json.dumps(p.get(k), sort_keys=True) for p, _ in rows}) > 1]


def importance_section(name: str, records: list[dict], store) -> dict | None:
    """None unless two or more parameters vary over at least MIN_TRIALS completed trials."""
    objective, direction, rows, entered = objective_rows(records)
    keys = varied(rows)
    if len(keys) < 2 or len(rows) < MIN_TRIALS:
        return None
    study = in_memory_study(rows, keys, direction)
    import optuna

    ranked = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=SEED), normalize=True)
    figures = [(f"Importance of each parameter for {objective} (fANOVA over {entered})",
                store.add(f"{name}-importance", importance_bars(ranked))),
               (f"The same trials across the parameters and {objective} (parallel coordinates)",
                store.add(f"{name}-parallel", parallel_coordinates(study, objective)))]
    if not any(r.get("search") for r in records):  # a search's section has its own slice plot
        slices = {name: [(i, {k: params.get(k) for k in keys}, value) for i, (params, value) in enumerate(rows)]}
        figures.append((f"Each parameter against {objective}, every completed trial (slice plot)",
                        store.add(f"{name}-slices", parameter_scores(slices, objective))))
    return {"objective": objective, "n": len(rows), "entered": entered,
            "method": f"fANOVA (Optuna {optuna.__version__}, seed {SEED})",
            "rows": [{"parameter": key, "importance": float(value)} for key, value in ranked.items()],
            "figures": figures}


def in_memory_study(rows: list[tuple[dict, float]], keys: list[str], direction: str):
    """The trials as an Optuna study in memory: numbers as ranges (log where they span 100 times or
    more), anything else (lists, names) as categories of its JSON text."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions, encode = {}, {}
    for key in keys:
        values = [params.get(key) for params, _ in rows]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric:
            low, high = min(values), max(values)
            log = low > 0 and high / low >= 100
            integral = all(isinstance(v, int) for v in values)
            distributions[key] = IntDistribution(low, high, log=log) if integral else FloatDistribution(
                float(low), float(high), log=log)
            encode[key] = int if integral else float
        else:
            texts = sorted({json.dumps(v, sort_keys=True) for v in values})
            distributions[key] = CategoricalDistribution(texts)
            encode[key] = lambda v: json.dumps(v, sort_keys=True)
    study = optuna.create_study(direction="maximize" if direction == "max" else "minimize")
    study.add_trials([optuna.trial.create_trial(params={k: encode[k](params.get(k)) for k in keys},
                                                distributions=distributions, value=value)
                      for params, value in rows])
    return study


def importance_bars(ranked: dict[str, float]) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(ranked) + 1.2))
    names = list(ranked)[::-1]
    ax.barh([n.rsplit(".", 1)[-1] for n in names], [ranked[n] for n in names])
    ax.set_xlabel("importance (fANOVA, share of the objective's variance)")
    ax.set_xlim(0, 1)
    ax.grid(axis="x", alpha=0.3)
    return png_bytes(fig)


def parallel_coordinates(study, objective: str) -> bytes:
    from optuna.visualization.matplotlib import plot_parallel_coordinate

    with warnings.catch_warnings():  # Optuna's matplotlib views are marked experimental
        warnings.simplefilter("ignore")
        ax = plot_parallel_coordinate(study, target_name=objective)
    ax.figure.set_size_inches(max(7, 2.2 * len(study.best_trial.params) + 3), 4)
    return png_bytes(ax.figure)
