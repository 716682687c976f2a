"""Which trials train together as one compiled program (training/group.py), decided where the plan is made.

Trials of one spec form a group when they are the same program: the device loop on JAX, and configs
equal but for what a member carries as a value. That is the seed (always), a constant learning rate
(a variable of the optimizer's state; a schedule's rate is a constant of the program), and the model
parameters its builder names as member parameters (the CNN's dropout rates). Their data split and the
epoch they start at must agree too. `training.together` caps the group: `off` (or 1) trains alone, a
number caps it, `auto` groups on an accelerator only: on a CPU, XLA's vmapped convolutions run about
3x slower than one member at a time (docs/gpu.md#trials-trained-together).
"""

import copy
import json

from fer_bench.models import BUILDERS
from fer_bench.scheduling.plan import PlannedTrial
from fer_bench.training.continuation import initial_epoch

AUTO_ON_ACCELERATOR = 16  # members: past this an H100 gains little (docs/gpu.md#trials-trained-together)


def group_key(planned: PlannedTrial) -> str | None:
    """Trials with one key can train as one program; None for a trial that trains alone."""
    trial = planned.trial
    config = copy.deepcopy(trial.config)
    training = config["training"]
    if training["loop"] != "device":
        return None
    training.pop("together", None)
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
