"""Generated command lines: every verb with any mix of its flags (and other verbs' flags), values
that are wrong, extreme, missing or paths that are files, folders, missing, unwritable, under /proc
or /dev, or too long. Each is answered under the property (answers.py), and the record already in
the results folder is never changed."""

import argparse
import shutil
import tempfile
from pathlib import Path

import pytest
from answers import answered, examples, scratch_folder
from hypothesis import given
from hypothesis import strategies as st

from fer_bench.cli import build_parser

pytestmark = pytest.mark.slow  # a few hundred generated cases: seconds, not milliseconds

# Left out, each for its reason: the distributed flags start a chief that serves until stopped or a
# worker that waits for one (their bad values are in the catalogue); --yes and --rerun remove or redo
# records, as asked, and this property is that nothing recorded changes.
LEFT_OUT = {"--chief", "--worker", "--chief-address", "--host", "--port", "--lease", "--connect-timeout",
            "--worker-id", "--yes", "--rerun", "--help", "-h", "--version"}


def verb_flags() -> dict[str, list[tuple[str, bool]]]:
    """Per verb, its flags and whether each takes a value."""
    (verbs,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return {name: [(option, action.nargs != 0) for action in parser._actions for option in action.option_strings
                   if option not in LEFT_OUT]
            for name, parser in verbs.choices.items()}


FLAGS = verb_flags()
ALL_FLAGS = sorted({flag for flags in FLAGS.values() for flag in flags})
PATHS = ["ok.yaml", "bad.yaml", "results", "results/ok", "missing.yaml", "missing/", "file.txt", "file.txt/x",
         "empty", "model.keras", "data.csv", "/proc/nope", "/proc/x.html", "/dev/null/x", "/dev/null", "a" * 300,
         "x/" * 2100, "report.html", "report.md", "report.pdf", "out.csv", "out.parquet", "smoke", "名前.yaml", "-"]
NUMBERS = ["0", "-1", "1", "2", "1e9", "99999999999999999999", "nan", "inf", "1.5", "0x10", ""]
VALUES = st.one_of(st.sampled_from(PATHS), st.sampled_from(NUMBERS), st.text(max_size=12),
                   st.sampled_from(["fit", "device", "cpu", "gpu", "auto", "*", "[", "grid*"]))


@st.composite
def command_lines(draw) -> list[str]:
    verb = draw(st.sampled_from(sorted(FLAGS)))
    args = [verb] + draw(st.lists(st.sampled_from(PATHS), max_size=3))
    for _ in range(draw(st.integers(0, 4))):
        flag, takes_value = draw(st.one_of(st.sampled_from(FLAGS[verb]), st.sampled_from(ALL_FLAGS))) \
            if FLAGS[verb] else draw(st.sampled_from(ALL_FLAGS))
        args.append(flag)
        if takes_value and draw(st.integers(0, 9)):  # now and then the value is missing
            args.append(draw(VALUES))
    return args


def recorded(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in (root / "results").rglob("record.json")}


@examples(120)
@given(command_lines())
def test_any_command_line_is_answered_and_changes_no_record(tmp_path_factory, args):
    master = scratch_folder(tmp_path_factory.getbasetemp() / "fuzz-scratch")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "s"
        shutil.copytree(master, root)
        before = recorded(root)
        # A command that would train makes its trial fail at once instead (exit 3): the property is
        # about answers, and a few hundred trainings do not fit in CI's minute.
        answered(*args, cwd=root, env={"FER_BENCH_FAULT": "raise@build", "FER_BENCH_CACHE": str(root / ".cache")})
        after = recorded(root)
        assert {k: after.get(k) for k in before} == before, args


def test_a_file_as_the_mlflow_store_is_one_line(tmp_path):
    """Found by the long run: MLflow refused a file store with an exception, a traceback."""
    root = scratch_folder(tmp_path / "s")
    result = answered("mlflow", "results", "--tracking-uri", "ok.yaml", cwd=root)
    assert result.returncode == 2 and "MLflow cannot use it as a tracking store" in result.stderr
