"""Generated damage to a results folder: records cut short, foreign files, a record turned into a
folder, a field anywhere in a record removed or given a value of another kind. `status`, `report`
and `compare` answer under the property (answers.py), and nothing they read is changed."""

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from answers import SCALE, answered, examples, scratch_folder
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.slow  # a few hundred generated cases: seconds, not milliseconds


DELETE = "<delete>"


def record_paths(results: Path) -> list[Path]:
    return sorted(p for p in results.rglob("record.json") if p.is_file())


DAMAGES = st.lists(st.one_of(
    st.tuples(st.just("cut"), st.integers(0, 4000)),
    st.tuples(st.just("junk"), st.sampled_from(["ok/x.json", "ok/record.json.tmp", "plan.json", "ok/plan.json",
                                                "other/t/record.json", ".claim-x", "ok/名前/record.json"]),
              st.binary(max_size=80)),
    st.tuples(st.just("folder")),
    st.tuples(st.just("field"), st.integers(0, 10**6), st.one_of(st.just(DELETE), st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=6))),
), min_size=1, max_size=3)


def fingerprints(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def apply(results: Path, damage: tuple) -> None:
    target = next(iter(record_paths(results)), None)
    kind = damage[0]
    if kind == "junk":
        path = results / damage[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(damage[2])
    elif target is None:
        return
    elif kind == "cut":
        target.write_bytes(target.read_bytes()[:damage[1]])
    elif kind == "folder":
        target.unlink()
        target.mkdir()
    elif kind == "field":
        try:
            record = json.loads(target.read_text())
        except ValueError:
            return  # an earlier damage cut it
        places = list(fields(record))
        if places:
            parent, key = places[damage[1] % len(places)]
            if damage[2] == DELETE:
                del parent[key]
            else:
                parent[key] = damage[2]
            target.write_text(json.dumps(record))


def fields(node, depth=0):
    """(container, key) for every value in a record, three levels down (a history entry's loss, say)."""
    if depth == 3 or not isinstance(node, (dict, list)):
        return
    for key in (node if isinstance(node, dict) else range(len(node))):
        yield node, key
        yield from fields(node[key], depth + 1)


@examples(10)  # each renders a report (1-2 s here); the long local run takes thousands
@given(DAMAGES)
def test_a_damaged_results_folder_is_read_or_refused_in_one_line_and_left_as_it_was(tmp_path_factory, damage):
    master = scratch_folder(tmp_path_factory.getbasetemp() / "fuzz-scratch") / "results"
    with tempfile.TemporaryDirectory() as scratch:
        results = Path(scratch) / "results"
        shutil.copytree(master, results)
        for one in damage:
            apply(results, one)
        before = fingerprints(results)
        answered("status", "results", cwd=scratch)
        answered("report", "results", "-o", "r.md", cwd=scratch)
        answered("compare", master, "results", cwd=scratch)
        assert fingerprints(results) == before


VALUES = (DELETE, None, [], {}, "x", 1.5, -3, True)


def damaged_copies(record: dict):
    """(where, value, copy) for every field three levels down, removed or given each kind of value in VALUES,
    that the record schema lets through: the damage that reaches status, report and compare."""
    from fer_bench.records import record_problem

    for index, (_, key) in enumerate(fields(record)):
        for value in VALUES:
            damaged = json.loads(json.dumps(record))
            parent, _ = list(fields(damaged))[index]
            if value == DELETE:
                del parent[key]
            else:
                parent[key] = value
            if not record_problem(damaged):
                yield f"field {index} ({key!r}) -> {value!r}", damaged


def test_every_field_removed_or_retyped_is_read_or_refused_in_one_line(tmp_path_factory):
    """Beside the generated damage, a sweep: each field of a fresh record removed, or given each other kind
    of value. Every case the schema passes (about 630) answered by the three readers in the long run
    (`FER_BENCH_FUZZ_SCALE` > 1: the sweep found five report crashes the generated damage had not); CI
    takes an evenly spaced few."""
    master = scratch_folder(tmp_path_factory.getbasetemp() / "fuzz-scratch") / "results"
    (path,) = record_paths(master)
    cases = list(damaged_copies(json.loads(path.read_text())))
    assert len(cases) > 300  # the schema types what readers use, not everything
    step = 1 if SCALE > 1 else len(cases) // 5
    for where, damaged in cases[step // 2::step]:
        with tempfile.TemporaryDirectory() as scratch:
            results = Path(scratch) / "results"
            shutil.copytree(master, results)
            (results / path.relative_to(master)).write_text(json.dumps(damaged))
            for args in (("status", "results"), ("report", "results", "-o", "r.md"), ("compare", master, "results")):
                try:
                    answered(*args, cwd=scratch)
                except AssertionError as failure:
                    raise AssertionError(f"{where}: {failure}") from None
