"""Spec files: find one (a path or a shipped name), read it, validate it and every trial it makes."""

from pathlib import Path

from fer_bench.errors import UserError
from fer_bench.spec.schema import LoadedSpec, validate_spec
from fer_bench.spec.trials import Overrides, check_search_space, expand
from fer_bench.spec.yaml_loader import parse_yaml, read_spec_text


def shipped_specs() -> dict[str, Path]:
    """The specs that come with fer-bench, by name: installed as fer_bench/specs, else the checkout's."""
    package = Path(__file__).resolve().parent.parent
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
    text = read_spec_text(path)
    raw = parse_yaml(text, path)
    if not isinstance(raw, dict):
        raise UserError(f"{path}: a spec is a YAML mapping with at least a name; got {type(raw).__name__}")
    spec = validate_spec(raw, path)
    loaded = LoadedSpec(path, spec, text, raw)
    if spec.search is not None:
        check_search_space(loaded)
    expand(loaded, Overrides())  # counts the trials, a search's too, before any is made
    return loaded
