"""Which trials train together as one compiled program (training/group.py), decided where the plan is made.

Trials of one spec form a group when they are the same program: the device loop on JAX, and configs
equal but for what a member carries as a value or has of its own. Values: the seed (always), a
constant learning rate (a variable of the optimizer's state; a schedule's rate is a constant of the
program), and the model parameters its builder names as member parameters (the CNN's dropout rates).
Its own: its callbacks, targets, limits and scoring options (MEMBER_TRAINING_KEYS). Their data split and the
epoch they start at must agree too. `training.together` caps the group: `off` (or 1) trains alone, a
number caps it, `auto` groups on an accelerator only: on a CPU, XLA's vmapped convolutions run about
3x slower than one member at a time (docs/gpu.md#trials-trained-together).
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING

from fer_bench.models import BUILDERS
from fer_bench.training.continuation import initial_epoch

if TYPE_CHECKING:  # plan.py lists the groups it forms
    from fer_bench.scheduling.plan import PlannedTrial

# What each member has of its own outside the program: callbacks (reduce-on-plateau, early stopping), the
# accuracy target, time limit and budget, its gradient probe, kept weights and test-time views.
MEMBER_TRAINING_KEYS = ("together", "callbacks", "stop_at_val_accuracy", "timeout_s", "budget_s", "gradient_stats",
                        "keep_best_weights", "tta")
AUTO_ON_ACCELERATOR = 16  # members: past this an H100 gains little (docs/gpu.md#trials-trained-together)


def group_key(planned: PlannedTrial) -> str | None:
    """Trials with one key can train as one program; None for a trial that trains alone."""
    trial = planned.trial
    config = copy.deepcopy(trial.config)
    training = config["training"]
    if training["loop"] != "device":
        return None
    for key in MEMBER_TRAINING_KEYS:
        training.pop(key, None)
    if training["schedule"] is None:
        training["optimizer"].pop("learning_rate")
    builder = BUILDERS[config["model"]["builder"]]
    for name in builder.member_params:
        config["model"]["params"].pop(name, None)
    return json.dumps([trial.spec_name, config, trial.split_seed, initial_epoch(trial)], sort_keys=True)


def group_limit(training: dict, backend: str, device_kind: str) -> int:
    """How many trials of this training section may train as one program on this machine."""
    together = training.get("together", "auto")
    if training["loop"] != "device" or backend != "jax" or together == "off":
        return 1
    if together == "auto":
        return AUTO_ON_ACCELERATOR if device_kind != "cpu" else 1
    return together


def alone(planned: PlannedTrial) -> int:
    """The limit where nothing trains together (a chief hands out one trial at a time)."""
    return 1


def limit_on(env: dict):
    """group_limit for every planned trial, on the backend and device of a run's environment."""
    return lambda planned: group_limit(planned.trial.config["training"], env["backend"], env["device"]["kind"])


def form_groups(trials: list[PlannedTrial], limit) -> list[list[PlannedTrial]]:
    """The trials in groups, each led by the first trial (in the given order) not yet placed; `limit(trial)`
    caps the size of the group it leads."""
    left = list(trials)
    groups = []
    while left:
        first = left.pop(0)
        group, key, size = [first], group_key(first), limit(first)
        if key is not None and size > 1:
            for other in list(left):
                if len(group) == size:
                    break
                if group_key(other) == key:
                    group.append(other)
                    left.remove(other)
        groups.append(group)
    return groups


def describe_groups(trials: list[PlannedTrial]) -> list[str]:
    """What `list` says of the groups a sweep's trials form: as they form on an accelerator under `auto`."""
    on_accelerator = [t for t in trials if group_key(t) is not None]
    if not on_accelerator:
        return []
    groups = [g for g in form_groups(trials, lambda t: group_limit(t.trial.config["training"], "jax", "gpu"))
              if len(g) > 1]
    settings = sorted({str(t.trial.config["training"]["together"]) for t in on_accelerator})
    where = "on an accelerator" if "auto" in settings else "on any device"
    if not groups:
        return [f"  together ({', '.join(settings)}): every trial trains alone"]
    cpu = "; on a CPU auto trains each alone" if "auto" in settings else ""
    lines = [f"  together ({', '.join(settings)}; JAX, loop: device): {sum(map(len, groups))} trials in "
             f"{len(groups)} program{'s' if len(groups) > 1 else ''} {where}{cpu}"]
    lines += [f"    {len(g)} together: {', '.join(t.trial.slug for t in g)}" for g in groups]
    return lines
