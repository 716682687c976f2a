"""User mistakes on the command line: one line, exit 2, no traceback, nothing recorded touched.

main() answers in this process; the tests that are about the process itself (its exit status and all
it writes to stderr, the modules it imports) start a real one."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE, call_main, run_cli, write


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("args, fragments", [
    (["run"], ["the following arguments are required: SPEC"]),
    (["frobnicate"], ["invalid choice: 'frobnicate'"]),
    (["run", "benchmark/smoke.yaml", "--epochs", "-3"], ["--epochs", "expected a positive integer, got '-3'"]),
    (["run", "benchmark/smoke.yaml", "--device", "tpu"], ["--device", "invalid choice: 'tpu'"]),
    (["run", "benchmark/nope.yaml"], ["benchmark/nope.yaml: no such file"]),
    (["validate", "benchmark"], ["benchmark: is a directory"]),
    (["data", "--data", "/nonexistent/fer.csv"], ["/nonexistent/fer.csv: no such file or folder"]),
    (["status", "/nonexistent/results"], ["no such results directory"]),
    (["run", "benchmark/smoke.yaml", "--data", "pyproject.toml"], ["unknown data format"]),
])
def test_bad_flags_and_paths(args, fragments):
    assert_one_line_error(call_main(*args), *fragments)


@pytest.mark.parametrize("args, fragment", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["run", "benchmark/smoke.yaml", "--data", "pyproject.toml"], "unknown data format"),
])
def test_a_real_process_answers_a_mistake_in_one_line_and_exit_2(args, fragment):
    """The whole of stderr, native output included, and the exit status a shell sees."""
    assert_one_line_error(run_cli(*args), fragment)


def test_results_path_that_is_a_file(tmp_path):
    target = write(tmp_path / "results", "not a directory")
    assert_one_line_error(call_main("run", "benchmark/smoke.yaml", "--out", target), "is a file")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where nothing can be created")
def test_outputs_that_cannot_be_written_are_one_line_and_exit_1(tmp_path):
    """Exit 1 as the README says for results that cannot be written; the run says so before it starts
    the backend, and the probe leaves nothing behind."""
    for args in (["run", "benchmark/smoke.yaml", "--out", "/proc/nope"],
                 ["report", str(tmp_path), "-o", "/proc/x.html"], ["report", str(tmp_path), "-o", "/proc/x.md"]):
        result = call_main(*args)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert lines[0].startswith("error: /proc") and "cannot write there (No such file or directory)" in lines[0]
        assert result.stdout == ""  # the run said so before planning or starting its backend
    bad = write(tmp_path / "bad.yaml", "name: bad\nmodel: {params: {dropout: 2}}\n")
    assert_one_line_error(call_main("run", bad, "--out", tmp_path / "fresh" / "deeper"), "model.params.dropout")
    assert not (tmp_path / "fresh").exists()


def test_bad_spec_through_the_cli(tmp_path):
    spec = write(tmp_path / "bad.yaml", "name: x\ntraining:\n  epochs: 2\n  optimiser: {name: adam}\n")
    assert_one_line_error(call_main("validate", spec), "bad.yaml", "training.optimiser: unknown key",
                          "did you mean 'optimizer'")


def test_gpu_without_gpu_is_a_clear_error(tmp_path):
    result = call_main("run", "benchmark/smoke.yaml", "--device", "gpu", "--out", tmp_path)
    assert_one_line_error(result, "--device gpu", "sees no GPU")
    assert not list(tmp_path.rglob("record.json"))


def test_a_bad_spec_among_good_ones_stops_before_training(tmp_path):
    bad = write(tmp_path / "bad.yaml", "name: bad\nmodel: {params: {dropout: 2}}\n")
    result = call_main("run", "benchmark/smoke.yaml", bad, "--out", tmp_path / "out")
    assert_one_line_error(result, "model.params.dropout")
    assert not (tmp_path / "out" / "smoke").exists()


def test_bad_data_through_the_cli(tmp_path):
    import gzip

    rows = gzip.decompress(SAMPLE.read_bytes()).splitlines()[:5]
    rows[2] = b"9" + rows[2][1:]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\n".join(rows))
    assert_one_line_error(call_main("data", "--data", bad), "bad.csv: line 3: emotion '9' is not one of 0..6")


@pytest.mark.slow
def test_light_commands_do_not_import_keras():
    code = (
        "import sys; from fer_bench.cli import main\n"
        "for argv in (['validate', 'benchmark/dropout.yaml'], ['list', 'benchmark/smoke.yaml'], ['data'],\n"
        "             ['status', 'benchmark']):\n"
        "    main(argv)\n"
        "heavy = sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr


def test_list_shows_sizes_and_ids():
    result = call_main("list", "benchmark/dropout.yaml", "--data", SAMPLE)
    assert result.returncode == 0, result.stderr
    assert "4,478,727 params" in result.stdout and "290.5 MMAC/img" in result.stdout
    assert result.stdout.count("dropout-0.25_s") == 3


def test_help_and_version():
    assert call_main("--help").returncode == 0
    assert "fer-bench 0.1.0" in call_main("--version").stdout
