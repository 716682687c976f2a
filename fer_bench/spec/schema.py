"""The spec schema: every section, its defaults and its checks. Defaults live here and nowhere else.

The defaults reproduce the study's final recipe, so a family spec states only what it sweeps.
"""

import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PositiveInt, ValidationError, field_validator, model_validator

from fer_bench.errors import UserError
from fer_bench.models import BUILDERS
from fer_bench.spec.base import Strict, check_name
from fer_bench.spec.search import SearchSpec

SWEEPABLE_ROOTS = ("dataset", "model", "training")


# Keys added after the first records were written enter a trial id only when they differ from
# their default, so that every earlier record keeps its id (and is not trained again).
LATER_KEYS: dict[tuple[str, ...], Any] = {
    ("dataset", "drop_test_duplicates"): False,
    ("dataset", "drop_blank"): False,
    ("training", "gradient_stats"): True,
    ("training", "timeout_s"): None,
    ("dataset", "protocol"): "study",
    ("training", "augmentation", "shift"): 0.0,
    ("training", "augmentation", "zoom"): 0.0,
    ("training", "augmentation", "rotation"): 0.0,
    ("training", "augmentation", "erasing"): 0.0,
    ("training", "schedule"): None,
    ("training", "label_smoothing"): 0.0,
    ("training", "tta"): "none",
    ("training", "stop_at_val_accuracy"): None,
    ("training", "budget_s"): None,
    ("training", "jit_compile"): "auto",
    ("training", "steps_per_execution"): 1,
    ("training", "loop"): "fit",
    ("training", "shuffle"): True,
    ("training", "corruptions"): False,
}


Monitor = Literal["val_loss", "val_accuracy", "loss", "accuracy"]


class DatasetSpec(Strict):
    source: str | None = None
    # The train/validation split's seed; "per_seed": each trial's own seed, so that the split changes from one
    # repeat to the next with the initial weights and order (a source of variance, docs/report.md)
    split_seed: Annotated[int, Field(ge=0)] | Literal["per_seed"] = 1302
    validation_fraction: float = Field(default=0.3, gt=0.0, lt=1.0)
    max_train_samples: PositiveInt | None = None
    max_eval_samples: PositiveInt | None = None
    drop_test_duplicates: bool = False  # drop Training images that copy a PublicTest/PrivateTest image
    drop_blank: bool = False  # drop blank Training images
    # study: train/validation from Training; full-train: train on all Training, select on PrivateTest,
    # report PublicTest (the protocol of the public 73.28% result)
    protocol: Literal["study", "full-train"] = "study"


class OptimizerSpec(Strict):
    name: Literal["adam", "adamw", "nadam", "rmsprop", "sgd"] = "adam"
    learning_rate: float = Field(default=5e-4, gt=0.0)
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: float | None = Field(default=None, ge=0.0)

    @model_validator(mode="after")
    def _check_options(self):
        if self.momentum and self.name not in ("sgd", "rmsprop"):
            raise ValueError(f"momentum applies to sgd and rmsprop only, not {self.name}")
        if self.nesterov and self.name != "sgd":
            raise ValueError("nesterov applies to sgd only")
        return self


class ReduceLROnPlateauSpec(Strict):
    monitor: Monitor = "val_loss"
    factor: float = Field(default=0.1, gt=0.0, lt=1.0)
    patience: int = Field(default=2, ge=0)
    min_lr: float = Field(default=1e-5, ge=0.0)


class EarlyStoppingSpec(Strict):
    monitor: Monitor = "val_loss"
    patience: int = Field(default=5, ge=0)
    min_delta: float = Field(default=0.0, ge=0.0)


class CallbacksSpec(Strict):
    reduce_lr_on_plateau: ReduceLROnPlateauSpec | None = Field(default_factory=ReduceLROnPlateauSpec)
    early_stopping: EarlyStoppingSpec | None = None


class AugmentationSpec(Strict):
    horizontal_flip: bool = True
    shift: float = Field(default=0.0, ge=0.0, le=0.5)  # up to this share of the side, black fill (pad-and-crop)
    zoom: float = Field(default=0.0, ge=0.0, lt=1.0)  # in or out by up to this share
    rotation: float = Field(default=0.0, ge=0.0, le=180.0)  # degrees either way
    erasing: float = Field(default=0.0, ge=0.0, le=1.0)  # probability of erasing a random patch


class ScheduleSpec(Strict):
    name: Literal["cosine", "one_cycle"]
    # share of all steps spent rising to the peak rate (default: cosine none, one-cycle 0.3); a share,
    # so that --epochs keeps the schedule's shape
    warmup: float | None = Field(default=None, ge=0.0, lt=1.0)
    min_fraction: float = Field(default=0.0, ge=0.0, lt=1.0)  # cosine: the last rate, as a share of the peak


class TrainingSpec(Strict):
    epochs: PositiveInt = 15
    batch_size: PositiveInt = 64
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    loss: Literal["categorical_crossentropy", "mean_squared_error"] = "categorical_crossentropy"
    callbacks: CallbacksSpec = Field(default_factory=CallbacksSpec)
    augmentation: AugmentationSpec = Field(default_factory=AugmentationSpec)
    # "auto": bfloat16 where the device computes it natively, float32 elsewhere (training/precision.py)
    mixed_precision: Literal["mixed_float16", "mixed_bfloat16", "auto"] | None = None
    gradient_stats: bool = True  # per-layer gradient norms on a probe batch after every epoch
    keep_best_weights: bool = False
    timeout_s: float | None = Field(default=None, gt=0)  # stop training after this long: status "timeout"
    schedule: ScheduleSpec | None = None  # a rate set every step; the optimizer's learning_rate is its peak
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=1.0)
    tta: Literal["none", "flip", "ten_crop"] = "none"  # test-time views averaged, reported beside single-view
    # score the final weights on FER-2013-C too (data/corrupted.py); off by default: on the study model it
    # costs about a quarter of a trial's time on a CPU (docs/robustness.md)
    corruptions: bool = False
    stop_at_val_accuracy: float | None = Field(default=None, gt=0.0, le=1.0)  # time-to-accuracy: stop there
    # a planned budget, not a guard: no epoch starts that would end past it, and the trial is scored as usual
    budget_s: float | None = Field(default=None, gt=0)
    # XLA on TensorFlow, torch.compile on torch; "auto" is Keras's choice. JAX always compiles (XLA).
    jit_compile: Literal["auto"] | bool = "auto"
    # training steps per compiled call: fewer Python round trips per epoch, for small models on fast cards
    steps_per_execution: PositiveInt = 1
    # "device" (JAX): the splits stay on the accelerator and each epoch is one compiled call (training/device_loop.py)
    loop: Literal["fit", "device"] = "fit"
    shuffle: bool = True  # a new order of the train split every epoch; false: the split's own order
    # trials of one model shape trained as one compiled program (loop: device, JAX; scheduling/groups.py):
    # at most this many; "auto": as many as fit on an accelerator, none on a CPU, where it is slower
    together: Literal["auto", "off"] | PositiveInt = "auto"

    @field_validator("together", mode="before")
    @classmethod
    def _off_is_false(cls, value):
        # YAML reads an unquoted off as false (and on as true)
        return {False: "off", True: "auto"}.get(value, value) if isinstance(value, bool) else value

    @field_validator("jit_compile", mode="before")
    @classmethod
    def _auto_or_bool(cls, value):
        if value != "auto" and not isinstance(value, bool):
            raise ValueError(f"allowed: auto, true or false (got {value!r})")
        return value

    @model_validator(mode="after")
    def _check_combinations(self):
        if self.schedule is not None and self.callbacks.reduce_lr_on_plateau is not None:
            raise ValueError("a schedule sets the rate every step: set training.callbacks.reduce_lr_on_plateau: null")
        if self.label_smoothing and self.loss != "categorical_crossentropy":
            raise ValueError("label_smoothing applies to categorical_crossentropy only")
        if self.loop == "device" and self.steps_per_execution != 1:
            raise ValueError("loop: device runs a whole epoch per compiled call; leave steps_per_execution at 1")
        if self.loop == "device" and self.jit_compile is False:
            raise ValueError("loop: device is always compiled (XLA); jit_compile: false needs loop: fit")
        return self


class ModelSpec(Strict):
    builder: str = "cnn"
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("builder")
    @classmethod
    def _known_builder(cls, value: str) -> str:
        if value not in BUILDERS:
            raise ValueError(f"unknown builder {value!r}; allowed: {', '.join(sorted(BUILDERS))}")
        return value


class VariantSpec(Strict):
    name: str
    set: dict[str, Any] = Field(default_factory=dict)

    _name = field_validator("name")(check_name)


class SweepSpec(Strict):
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    variants: list[VariantSpec] = Field(default_factory=list)

    @field_validator("grid")
    @classmethod
    def _no_empty_lists(cls, grid):
        for key, values in grid.items():
            if not values:
                raise ValueError(f"{key!r} has an empty list of values: give at least one")
        return grid

    @field_validator("variants")
    @classmethod
    def _unique_names(cls, variants):
        names = [v.name for v in variants]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"variant name {name!r} is used twice")
        return variants


class Spec(Strict):
    name: str
    description: str = ""
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    seeds: PositiveInt | list[int] = 3
    sweep: SweepSpec | None = None
    search: SearchSpec | None = None

    _name = field_validator("name")(check_name)

    @model_validator(mode="after")
    def _search_alone(self):
        if self.search is not None and self.sweep is not None:
            raise ValueError("a spec has either a sweep or a search, not both: put the search space under search.space")
        if self.search is not None and "seeds" in self.model_fields_set:
            raise ValueError("a search runs seeds 0..search.executions-1 for each trial: set search.executions, "
                             "not seeds")
        return self

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds):
        if isinstance(seeds, list) and (not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0):
            raise ValueError("a list of seeds must be non-empty, distinct and non-negative")
        return seeds

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)


@dataclass(frozen=True)
class LoadedSpec:
    path: Path
    spec: Spec
    text: str
    raw: dict

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def validate_spec(raw: dict, path: Path, context: str = "") -> Spec:
    prefix = f"{path}: " + (f"{context}: " if context else "")
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        raise UserError(prefix + _describe(exc, Spec)) from None
    builder = BUILDERS[spec.model.builder]
    try:
        params = builder.params_model.model_validate(spec.model.params)
    except ValidationError as exc:
        raise UserError(prefix + _describe(exc, builder.params_model, ("model", "params"))) from None
    spec.model.params = params.model_dump(mode="json")
    return spec


def _describe(exc: ValidationError, root: type[BaseModel], prefix: tuple = ()) -> str:
    """The first error of `exc` as 'key.path: what is wrong (got X)', plus how many more."""
    err = exc.errors(include_url=False)[0]
    loc = [p for p in err["loc"] if not str(p).startswith(("function-", "constrained-", "literal["))]
    if loc[:2] == ["search", "space"] and len(loc) > 3 and loc[3] in ("choice", "int", "float"):
        del loc[3]  # the tag pydantic adds for the parameter's type
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in [*prefix, *loc]).lstrip(".") or "(top level)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if err["type"] == "extra_forbidden":
        allowed = _fields_at(root, err["loc"][:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"{key}: unknown key{did_you_mean} (allowed: {', '.join(allowed)}){more}"
    if err["type"] == "missing":
        return f"{key}: required key is missing{more}"
    message = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    shown = "" if isinstance(got, dict) or err["type"].startswith("value_error") else f" (got {got!r})"
    return f"{key}: {message}{shown}{more}"


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    for part in loc:
        if isinstance(part, int) or not hasattr(model, "model_fields"):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return []
        model = _model_in(info.annotation)
        if model is None:
            return []
    return list(model.model_fields) if hasattr(model, "model_fields") else []


def _model_in(annotation):
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
