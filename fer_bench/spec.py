"""YAML spec -> validated Spec -> trials. Defaults live here, in the schema, and nowhere else.

The defaults reproduce the study's final recipe, so a family spec states only what it sweeps.
"""

import copy
import difflib
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator, model_validator

from fer_bench.errors import UserError
from fer_bench.models import BUILDERS
from fer_bench.search_spec import SearchSpec
from fer_bench.yamlio import load_yaml

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
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
Monitor = Literal["val_loss", "val_accuracy", "loss", "accuracy"]


def check_name(value: str) -> str:
    """A spec's (or a record's) name: safe as a folder name, so it cannot escape the results folder."""
    if not _NAME.match(value) or ".." in value:
        raise ValueError("must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetSpec(_Strict):
    source: str | None = None
    split_seed: int = Field(default=1302, ge=0)
    validation_fraction: float = Field(default=0.3, gt=0.0, lt=1.0)
    max_train_samples: PositiveInt | None = None
    max_eval_samples: PositiveInt | None = None
    drop_test_duplicates: bool = False  # drop Training images that copy a PublicTest/PrivateTest image
    drop_blank: bool = False  # drop blank Training images
    # study: train/validation from Training; full-train: train on all Training, select on PrivateTest,
    # report PublicTest (the protocol of the public 73.28% result)
    protocol: Literal["study", "full-train"] = "study"


class OptimizerSpec(_Strict):
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


class ReduceLROnPlateauSpec(_Strict):
    monitor: Monitor = "val_loss"
    factor: float = Field(default=0.1, gt=0.0, lt=1.0)
    patience: int = Field(default=2, ge=0)
    min_lr: float = Field(default=1e-5, ge=0.0)


class EarlyStoppingSpec(_Strict):
    monitor: Monitor = "val_loss"
    patience: int = Field(default=5, ge=0)
    min_delta: float = Field(default=0.0, ge=0.0)


class CallbacksSpec(_Strict):
    reduce_lr_on_plateau: ReduceLROnPlateauSpec | None = Field(default_factory=ReduceLROnPlateauSpec)
    early_stopping: EarlyStoppingSpec | None = None


class AugmentationSpec(_Strict):
    horizontal_flip: bool = True
    shift: float = Field(default=0.0, ge=0.0, le=0.5)  # up to this share of the side, black fill (pad-and-crop)
    zoom: float = Field(default=0.0, ge=0.0, lt=1.0)  # in or out by up to this share
    rotation: float = Field(default=0.0, ge=0.0, le=180.0)  # degrees either way
    erasing: float = Field(default=0.0, ge=0.0, le=1.0)  # probability of erasing a random patch


class ScheduleSpec(_Strict):
    name: Literal["cosine", "one_cycle"]
    # share of all steps spent rising to the peak rate (default: cosine none, one-cycle 0.3); a share,
    # so that --epochs keeps the schedule's shape
    warmup: float | None = Field(default=None, ge=0.0, lt=1.0)
    min_fraction: float = Field(default=0.0, ge=0.0, lt=1.0)  # cosine: the last rate, as a share of the peak


class TrainingSpec(_Strict):
    epochs: PositiveInt = 15
    batch_size: PositiveInt = 64
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    loss: Literal["categorical_crossentropy", "mean_squared_error"] = "categorical_crossentropy"
    callbacks: CallbacksSpec = Field(default_factory=CallbacksSpec)
    augmentation: AugmentationSpec = Field(default_factory=AugmentationSpec)
    mixed_precision: Literal["mixed_float16", "mixed_bfloat16"] | None = None
    gradient_stats: bool = True  # per-layer gradient norms on a probe batch after every epoch
    keep_best_weights: bool = False
    timeout_s: float | None = Field(default=None, gt=0)  # stop training after this long: status "timeout"
    schedule: ScheduleSpec | None = None  # a rate set every step; the optimizer's learning_rate is its peak
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=1.0)
    tta: Literal["none", "flip", "ten_crop"] = "none"  # test-time views averaged, reported beside single-view
    stop_at_val_accuracy: float | None = Field(default=None, gt=0.0, le=1.0)  # time-to-accuracy: stop there
    # a planned budget, not a guard: no epoch starts that would end past it, and the trial is scored as usual
    budget_s: float | None = Field(default=None, gt=0)
    # XLA on TensorFlow, torch.compile on torch; "auto" is Keras's choice. JAX always compiles (XLA).
    jit_compile: Literal["auto"] | bool = "auto"
    # training steps per compiled call: fewer Python round trips per epoch, for small models on fast cards
    steps_per_execution: PositiveInt = 1

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
        return self


class ModelSpec(_Strict):
    builder: str = "cnn"
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("builder")
    @classmethod
    def _known_builder(cls, value: str) -> str:
        if value not in BUILDERS:
            raise ValueError(f"unknown builder {value!r}; allowed: {', '.join(sorted(BUILDERS))}")
        return value


class VariantSpec(_Strict):
    name: str
    set: dict[str, Any] = Field(default_factory=dict)

    _name = field_validator("name")(check_name)


class SweepSpec(_Strict):
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


class Spec(_Strict):
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
class Overrides:
    """CLI flags that change what a trial does; each is recorded and enters the trial id."""

    epochs: int | None = None
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    seeds: int | None = None
    trial_timeout: float | None = None
    budget: float | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def dotted(self) -> dict[str, Any]:
        paths = {"epochs": "training.epochs", "max_train_samples": "dataset.max_train_samples",
                 "max_eval_samples": "dataset.max_eval_samples", "trial_timeout": "training.timeout_s",
                 "budget": "training.budget_s"}
        return {paths[k]: v for k, v in self.as_dict().items() if k in paths}


@dataclass(frozen=True)
class Trial:
    spec_name: str
    variant: str
    params: dict[str, Any]
    seed: int
    config: dict[str, Any]  # the resolved dataset, model and training sections
    overrides: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] | None = None  # {"strategy", "trial_number"} for a trial a search proposed

    @property
    def slug(self) -> str:
        if self.search:
            return f"{self.search['strategy']}-{self.search['trial_number']:03d}_{self.variant}_s{self.seed}"
        return f"{self.variant}_s{self.seed}"

    def trial_id(self, data_fingerprint: str) -> str:
        hashed = copy.deepcopy(self.config)
        hashed["dataset"].pop("source", None)  # the fingerprint stands for the data, not its path
        for path, default in LATER_KEYS.items():
            *parents, leaf = path
            node = hashed
            for part in parents:
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict) and leaf in node and node[leaf] == default:
                del node[leaf]
        identity = {"spec": self.spec_name, "config": hashed, "seed": self.seed, "data": data_fingerprint}
        if self.search:  # equal parameters under two strategies are two trials
            identity["strategy"] = self.search["strategy"]
        blob = json.dumps(identity, sort_keys=True)
        return f"{self.slug}_{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class LoadedSpec:
    path: Path
    spec: Spec
    text: str
    raw: dict

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def shipped_specs() -> dict[str, Path]:
    """The specs that come with fer-bench, by name: installed as fer_bench/specs, else the checkout's."""
    package = Path(__file__).resolve().parent
    for folder in (package / "specs", package.parent / "benchmark"):
        if folder.is_dir():
            return {p.stem: p for p in sorted(folder.glob("*.yaml"))}
    return {}


def find_spec_file(arg: str) -> Path:
    """A spec path as given, or a shipped spec named as `dropout` or `benchmark/dropout.yaml`."""
    path = Path(arg)
    if path.exists() or path.parent not in (Path("."), Path("benchmark")):
        return path
    return shipped_specs().get(path.name.removesuffix(".yaml"), path)


def load_spec(path: Path) -> LoadedSpec:
    """Read and validate a spec file, including every trial its sweep would make."""
    path = find_spec_file(str(path))
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        raise UserError(f"{path}: a spec is a YAML mapping with at least a name; got {type(raw).__name__}")
    spec = _validate(raw, path)
    loaded = LoadedSpec(path, spec, path.read_text(encoding="utf-8"), raw)
    if spec.search is not None:
        check_search_space(loaded)
    else:
        expand(loaded, Overrides())
    return loaded


def describe_trials(loaded: LoadedSpec, overrides: Overrides) -> str:
    """How many trials a spec makes, in words (a search: per strategy, each over its executions)."""
    search = loaded.spec.search
    if search is None:
        return f"{len(expand(loaded, overrides))} trials"
    executions = overrides.seeds or search.executions
    parts = " + ".join(f"{name} {n}" for name, n in search.trials_per_strategy().items())
    return f"search: {parts} trials x {executions} execution{'s' if executions > 1 else ''}, by {search.objective}"


def check_search_space(loaded: LoadedSpec) -> None:
    """Resolve the spec at each end of every searched key (the others at their first value)."""
    space = loaded.spec.search.space
    first = {key: param.representatives()[0] for key, param in space.items()}
    for key, param in space.items():
        for value in param.representatives():
            search_trials(loaded, Overrides(), "check", 0, {**first, key: value})


def search_trials(loaded: LoadedSpec, overrides: Overrides, strategy: str, number: int,
                  values: dict[str, Any]) -> list[Trial]:
    """The trials of one search proposal: its parameters applied to the spec, once per execution seed."""
    spec, path = loaded.spec, loaded.path
    settings = [(key, value, "search.space", f"search.space {key}={value!r}") for key, value in values.items()]
    config = _resolve(spec.model_dump(mode="json", exclude={"search"}), settings, overrides, path)
    variant = _slugify("_".join(f"{k.rsplit('.', 1)[-1]}-{value_label(v)}" for k, v in values.items()))
    executions = overrides.seeds or spec.search.executions
    return [Trial(spec.name, variant, dict(values), seed, config, overrides.as_dict(),
                  {"strategy": strategy, "trial_number": number}) for seed in range(executions)]


def _resolve(doc: dict, settings: list[tuple[str, Any, str, str]], overrides: Overrides, path: Path) -> dict:
    """The validated dataset, model and training sections of `doc` with `settings` applied.

    A setting is (dotted key, value, where it was given, how to name it in an error).
    """
    labels = []
    for key, value, where, label in settings:
        _set_path(doc, key, value, path, where)
        if label not in labels:
            labels.append(label)
    for key, value in overrides.dotted().items():
        _set_path(doc, key, value, path, "command-line override")
    resolved = _validate(doc, path, context=", ".join(labels))
    return resolved.model_dump(mode="json", include=set(SWEEPABLE_ROOTS))


def expand(loaded: LoadedSpec, overrides: Overrides) -> list[Trial]:
    """Every trial of the spec: variants x grid points x seeds, in a fixed order; none for a search."""
    spec, path = loaded.spec, loaded.path
    if spec.search is not None:
        return []
    base = spec.model_dump(mode="json")
    sweep = spec.sweep or SweepSpec()
    variants = sweep.variants or [None]
    grid_keys = list(sweep.grid)
    seeds = list(range(overrides.seeds)) if overrides.seeds else spec.seed_list
    trials = []
    for variant in variants:
        for values in itertools.product(*(sweep.grid[k] for k in grid_keys)):
            params, labels, settings = {}, [], []
            if variant is not None:
                index = sweep.variants.index(variant)
                settings += [(key, value, f"sweep.variants[{index}].set", f"variant {variant.name!r}")
                             for key, value in variant.set.items()]
                params.update(variant.set)
                labels.append(variant.name)
            for key, value in zip(grid_keys, values):
                settings.append((key, value, "sweep.grid", f"sweep.grid {key}={value!r}"))
                params[key] = value
                labels.append(f"{key.rsplit('.', 1)[-1]}-{value_label(value)}")
            config = _resolve(copy.deepcopy(base), settings, overrides, path)
            variant_label = _slugify("_".join(labels) or "base")
            for seed in seeds:
                trials.append(Trial(spec.name, variant_label, params, seed, config, overrides.as_dict()))
    slugs = [t.slug for t in trials]
    duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicates:
        raise UserError(f"{path}: sweep: two trials share the name {duplicates[0]!r}; make the variants differ")
    return trials


def _validate(raw: dict, path: Path, context: str = "") -> Spec:
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


def _set_path(doc: dict, dotted: str, value: Any, path: Path, where: str) -> None:
    parts = dotted.split(".")
    if parts[0] not in SWEEPABLE_ROOTS:
        raise UserError(f"{path}: {where}: {dotted!r} cannot be swept; keys start with "
                        f"{', '.join(r + '.' for r in SWEEPABLE_ROOTS)}")
    node = doc
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth]) or "the spec"
        if not isinstance(node, dict):
            raise UserError(f"{path}: {where}: {dotted!r}: {here} is not a mapping"
                            + (" (it is null: enable it with a mapping first)" if node is None else ""))
        if part not in node:
            hint = difflib.get_close_matches(part, list(node), n=1)
            did_you_mean = f"; did you mean {'.'.join([*parts[:depth], hint[0]])!r}?" if hint else ""
            raise UserError(f"{path}: {where}: {dotted!r}: no key {part!r} in {here}{did_you_mean}")
        if depth == len(parts) - 1:
            node[part] = copy.deepcopy(value)
        else:
            node = node[part]


def value_label(value: Any) -> str:
    """A parameter value as it appears in variant names and trial ids."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return "-".join(value_label(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}".replace("+", "")
    if value is None:
        return "none"
    if isinstance(value, dict):
        return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:6]
    return str(value)


def _slugify(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "trial"
