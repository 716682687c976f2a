"""A variant trained in two precisions (`run --precision auto` beside float32) is two rows, not one of twice
the seeds, on the committed bfloat16 reference; where a report holds one precision the labels stay as they are."""

from conftest import REPO, call_main

from fer_bench.report.frames import load_records

PRECISION = REPO / "results" / "reference" / "cpu-precision"


def test_each_precision_is_its_own_variant():
    frame = load_records(PRECISION)
    assert frame.groupby("variant").size().to_dict() == {
        "base (float32)": 1, "base (mixed_bfloat16)": 1, "dropout-0 (float32)": 3, "dropout-0 (mixed_bfloat16)": 3}
    one = load_records(PRECISION / "float32", PRECISION / "study-float32")
    assert set(one["variant"]) == {"base", "dropout-0"}
    calibration = load_records(REPO / "results" / "reference" / "cpu-calibration")
    assert set(calibration["variant"]) == {"label_smoothing-0", "label_smoothing-0.1"}


def test_the_report_judges_one_precision_against_the_other_and_compare_still_pairs_them(tmp_path):
    result = call_main("report", PRECISION, "-o", tmp_path / "report.md")
    assert result.returncode == 0, result.stderr
    summary = (tmp_path / "report.md").read_text().split("## Contents")[0]
    row = next(line for line in summary.splitlines() if line.startswith("| [small_cnn]"))
    assert "| dropout-0 (mixed_bfloat16) | 3 |" in row and "nothing to compare it with" not in row, row
    compared = call_main("compare", PRECISION / "float32", PRECISION / "auto")
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert sum(line.startswith("  small_cnn     dropout-0 ") for line in compared.stdout.splitlines()) == 3
