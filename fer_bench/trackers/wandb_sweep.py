"""A spec's search block as W&B sweep configurations (`fer-bench wandb --sweep-config SPEC`): one per
strategy, the same space, each W&B run training one proposal through `fer-bench run --params`.

Mapped: grid, random and bayesian (W&B's bayes); hyperband as W&B's random with its hyperband
early_terminate (runs stopped at rungs of the per-epoch metric that `run --wandb` streams: none is
continued from another's weights, as Keras Tuner's Hyperband does); the objective and its direction;
every parameter, a stepped range as the list of its points (W&B has no multiplicative step). Not
mapped, and said so: what W&B's sweeps have no setting for.
"""

import warnings

from fer_bench.errors import UserError
from fer_bench.spec.search import ChoiceParam, FloatParam, SearchSpec

METHODS = {"grid": "grid", "random": "random", "bayesian": "bayes", "hyperband": "random"}


def sweep_configs(search: SearchSpec, name: str, spec_path: str, strategies: list[str]) -> list[tuple[str, dict]]:
    """(strategy, sweep configuration) for each strategy asked, in the spec's order."""
    goal = "maximize" if search.direction == "max" else "minimize"
    parameters = {key: parameter(param) for key, param in search.space.items()}
    configs = []
    for strategy in strategies:
        config = {"name": f"{name} {strategy}", "method": METHODS[strategy],
                  "metric": {"name": search.objective, "goal": goal}, "parameters": parameters,
                  "command": ["${env}", "fer-bench", "run", spec_path, "--params", "${args_json_file}", "--wandb",
                              *(["--seeds", "1"] if search.executions > 1 else [])]}
        if strategy == "hyperband":
            config["early_terminate"] = {"type": "hyperband", "min_iter": 1, "eta": search.hyperband.factor}
        configs.append((strategy, config))
    return configs


def parameter(param) -> dict:
    if isinstance(param, ChoiceParam):
        return {"values": list(param.values)}
    if param.step is not None:
        return {"values": param.grid_values()}
    if isinstance(param, FloatParam):
        kind = "log_uniform_values" if param.sampling == "log" else "uniform"
        return {"distribution": kind, "min": param.min, "max": param.max}
    if param.sampling == "log":  # no integer log distribution in W&B: quantised to whole numbers
        return {"distribution": "q_log_uniform_values", "min": param.min, "max": param.max, "q": 1}
    return {"distribution": "int_uniform", "min": param.min, "max": param.max}


def unmapped(search: SearchSpec, strategies: list[str]) -> list[str]:
    """What of the search block a W&B sweep does not carry."""
    said = [f"search.seed {search.seed} (W&B sweeps draw their own proposals: not the same ones)"]
    if set(strategies) - {"grid"}:
        said.append(f"max_trials {search.max_trials} (give it to the agent: wandb agent --count "
                    f"{search.max_trials} SWEEP_ID)")
    if "hyperband" in strategies:
        said.append("hyperband.max_epochs and iterations (W&B's runs each train the spec's epochs unless stopped at a "
                    "rung; pass --epochs to the command to change them)")
    if search.executions > 1:
        said.append(f"executions {search.executions} (a W&B run is one training: each trains seed 0)")
    if "bayesian" in strategies:
        said.append(f"bayesian.initial_points {search.initial_points}, alpha and beta (W&B's bayes has no such "
                    "settings)")
    if any(not isinstance(p, ChoiceParam) and p.sampling == "log" and p.step is None and not isinstance(p, FloatParam)
           for p in search.space.values()):
        said.append("a log-sampled int range (W&B samples it as whole-number floats)")
    return said


def validate(config: dict, strategy: str) -> bool:
    """Check against W&B's own sweep schema (the `sweeps` package, W&B's sweep engine); False if absent."""
    try:
        with warnings.catch_warnings():  # 0.2 speaks pydantic 1's config names; pydantic 2 warns, and works
            warnings.simplefilter("ignore")
            from sweeps import schema_violations_from_proposed_config
    except ImportError:
        return False
    violations = schema_violations_from_proposed_config(config)
    if violations:
        raise UserError(f"the {strategy} sweep configuration breaks W&B's schema: {violations[0]}")
    return True
