"""Builders that come from Python rather than an installed package: a plain callable given to
`fer_bench.run(models=...)`, or a local file named by `fer-bench run --model-file`. Either is
registered for one call or one command only (`Registry.registered`), and a spec still names no code."""

import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from fer_bench.errors import UserError
from fer_bench.models.base import AnyParams, Builder

MODELS = "MODELS"  # in a model file: a dict of builder name -> callable or Builder


def from_callable(name: str, build: Callable, source: str | None = None) -> Builder:
    """A Builder that calls `build(**model.params)`: the spec's parameters as keyword arguments."""
    if isinstance(build, Builder):
        return build if build.name == name else Builder(**{**build.__dict__, "name": name})
    if not callable(build):
        raise UserError(f"models: {name!r} is a {type(build).__name__}; give a callable returning a Keras model, "
                        "or a fer_bench.Builder")
    where = source or f"python: {getattr(build, '__module__', '?')}.{getattr(build, '__qualname__', repr(build))}"
    return Builder(name, lambda params: build(**params.model_dump()), AnyParams,
                   description=(inspect.getdoc(build) or "").split("\n")[0], source=where)


def as_builders(models: Mapping[str, Callable | Builder] | None, source: str | None = None) -> list[Builder]:
    if models is None:
        return []
    if not isinstance(models, Mapping):
        raise UserError(f"models: expected a mapping of builder names to callables or Builders, got "
                        f"{type(models).__name__}")
    found = []
    for name, build in models.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise UserError(f"models: builder name {name!r}: use letters, digits and _ (a spec's model.builder)")
        found.append(from_callable(name, build, source))
    return found


def load_model_file(path: Path) -> list[Builder]:
    """The builders a local Python file defines: every module-level Builder, and the entries of its MODELS
    dict (name -> callable or Builder). The file runs as Python: only name files you trust."""
    if not path.is_file():
        raise UserError(f"--model-file {path}: no such file")
    if path.suffix != ".py":
        raise UserError(f"--model-file {path}: expected a Python file (.py)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    source = f"file: {path} (sha256 {digest[:12]})"
    module_name = f"fer_bench_model_file_{digest[:12]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # so that pickling and dataclasses inside it find it
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        line = next((f":{f.lineno}" for f in reversed(inspect.trace()) if Path(f.filename).resolve() == path.resolve()),
                    "")
        raise UserError(f"--model-file {path}{line}: it raised {exc.__class__.__name__}: {exc}") from None
    builders = {b.name: Builder(**{**b.__dict__, "source": source}) for b in vars(module).values()
                if isinstance(b, Builder)}
    extra = getattr(module, MODELS, None)
    if extra is not None and not isinstance(extra, Mapping):
        raise UserError(f"--model-file {path}: {MODELS} is a {type(extra).__name__}; expected a dict of builder "
                        "names to callables")
    for builder in as_builders(extra, source):
        builders[builder.name] = builder
    if not builders:
        raise UserError(f"--model-file {path}: defines no builder; give it a dict {MODELS} = {{'name': build_fn}} "
                        "or a module-level fer_bench.Builder")
    return list(builders.values())
