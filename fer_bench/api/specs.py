"""A spec as the API takes it: a path, a shipped spec's name, or a dict. A dict is written out as
OUT/NAME/spec.yaml, beside its records, so that `fer-bench run` and `fer-bench clean` can find it again."""

import os
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import yaml

from fer_bench.errors import UserError

SpecLike = str | PathLike | Mapping


def spec_paths(spec: SpecLike | list[SpecLike], out: Path) -> list[str]:
    """Each spec as a file the runner reads."""
    specs = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    if not specs:
        raise UserError("spec: give a spec path, a shipped spec's name or a dict (or a list of them)")
    for given in specs:
        if not isinstance(given, (str, PathLike, Mapping)):
            raise UserError(f"spec: expected a path, a shipped spec's name or a dict, got {type(given).__name__}")
    return [_written(s, out) if isinstance(s, Mapping) else os.fspath(s) for s in specs]


def _written(spec: Mapping, out: Path) -> str:
    name = spec.get("name")
    if not isinstance(name, str) or not name or name != Path(name).name or name.startswith("."):
        raise UserError(f"spec (a dict): name: expected a plain name for its results folder, got {name!r}")
    plain = _plain(spec)
    source = (plain.get("dataset") or {}).get("source") if isinstance(plain.get("dataset"), dict) else None
    if isinstance(source, str) and source != "sample" and not Path(source).expanduser().is_absolute():
        plain["dataset"]["source"] = str(Path(source).expanduser().resolve())  # as the caller meant it: from here
    try:
        text = yaml.safe_dump(plain, sort_keys=False)
    except yaml.YAMLError as exc:
        raise UserError(f"spec {name!r} (a dict): not expressible as YAML: {exc}") from None
    path = out / name / "spec.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".spec.yaml.{os.getpid()}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)
    return str(path)


def _plain(value):
    """Mappings and sequences as dicts and lists, which YAML's safe dumper writes as plain YAML."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
