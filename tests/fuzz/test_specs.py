"""Generated spec documents: every key of the schema given values of the wrong type, out of range,
extreme, deeply nested or odd Unicode; keys deleted, misspelt or unknown; and raw YAML (anchors,
aliases, tags, deep nesting, binary). `validate` and `list` answer each in one line or accept it."""

import copy
import typing

import pytest
import yaml
from answers import answered, examples
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from fer_bench.spec.schema import Spec

pytestmark = pytest.mark.slow  # a few hundred generated cases: seconds, not milliseconds

BASE = {"name": "fz", "dataset": {"source": "sample"},
        "model": {"params": {"conv_filters": [8, 16], "conv_kernels": [3, 3], "dense_units": [16]}},
        "training": {"epochs": 1, "batch_size": 32}, "seeds": 1}


def key_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key of the schema, nested sections included, as dotted paths."""
    paths = []
    for name, field in model.model_fields.items():
        path = prefix + name
        paths.append(path)
        for kind in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                paths += key_paths(kind, path + ".")
    return paths


KEYS = key_paths(Spec) + ["model.params.conv_filters", "model.params.dropout", "model.params.dense_units",
                          "sweep.grid.model.params.dropout", "sweep.variants", "search.space",
                          "search.space.training.optimizer.learning_rate", "search.strategy"]
ODD_TEXT = ["", " ", "0", "-1", "1e400", "nan", ".inf", "~", "null", "yes", "on", "0x1F", "1_000", "\u202eevil",
            "名前", "😀", "a\x00b", "../../etc", "/proc/self/mem", "x" * 5000, "%s%n", "{{7*7}}", "<script>"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**80, 2**80), st.floats(),
                    st.sampled_from(ODD_TEXT), st.text(max_size=20))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
    st.one_of(st.sampled_from(["name", "set", "type", "values", "min", "max"]), st.text(max_size=8)), inner,
    max_size=4), max_leaves=12)


def misspelt(path: str) -> st.SearchStrategy[str]:
    head, _, last = path.rpartition(".")
    return st.sampled_from([last + "s", last[:-1] or "x", last.upper(), last.replace("_", "-"), last + " "]).map(
        lambda wrong: f"{head}.{wrong}" if head else wrong)


EDITS = st.lists(st.one_of(
    st.tuples(st.just("set"), st.sampled_from(KEYS), VALUES),
    st.tuples(st.just("delete"), st.sampled_from(KEYS), st.none()),
    st.tuples(st.just("set"), st.sampled_from(KEYS).flatmap(misspelt), VALUES),
), min_size=1, max_size=4)


def edited(edits) -> dict:
    document = copy.deepcopy(BASE)
    for action, path, value in edits:
        *parents, last = path.split(".")
        node = document
        for key in parents:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        if action == "set":
            node[last] = value
        else:
            node.pop(last, None)
    return document


@examples(150)
@given(EDITS)
def test_an_edited_spec_is_accepted_or_refused_in_one_line(tmp_path_factory, edits):
    folder = tmp_path_factory.mktemp("spec")
    (folder / "s.yaml").write_text(yaml.safe_dump(edited(edits), allow_unicode=True), encoding="utf-8")
    for verb in ("validate", "list"):
        answered(verb, "s.yaml", cwd=folder)


def nested(depth: int) -> str:
    return "name: deep\nmodel: {params: {x: " + "[" * depth + "]" * depth + "}}\n"


def laughs(levels: int) -> str:
    """The billion-laughs document: a few lines whose aliases expand to 9**levels values."""
    lines = ["name: lol", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines + [f"sweep: {{grid: {{model.params.dropout: *a{levels}}}}}"]) + "\n"


RAW = st.one_of(
    st.integers(1, 20000).map(nested),
    st.integers(1, 9).map(laughs),
    st.sampled_from([
        "name: a\nname: b\n", "a: &x [*x]\n", "name: &n x\nmodel: *n\n", "!!python/object/apply:os.system [ls]\n",
        "name: !!binary aGk=\n", "name: !custom x\n", "\ufeffname: bom\n", "name:\tx\n", "name: x\n---\nname: y\n",
        "[]\n", "''\n", "42\n", "name: {a: 1, a: 2}\n", "? [a, b]\n: c\n", "name: x\n" + "#" * 100000 + "\n",
        "name: x\nseeds: [" + ", ".join(["1"] * 20000) + "]\n", "name: x\ntraining: {epochs: 1e999}\n",
    ]),
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
)


@examples(100)
@given(RAW)
def test_raw_yaml_is_accepted_or_refused_in_one_line(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("raw")
    (folder / "s.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    for verb in ("validate", "list"):
        answered(verb, "s.yaml", cwd=folder)
