"""The report as a person reads it: variants in the spec's order, two-seed intervals inside 0-100%, a summary
first. Records are made from committed ones (made_results.py): nothing is trained here."""

import re
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, write
from made_results import LISTED_VARIANTS, ORDER_VARIANTS, TINY, UNREAD_VARIANTS, make_results
from scipy import stats

from fer_bench import load_records
from fer_bench.report import figures
from fer_bench.report.compare import compare, load_side, write_page
from fer_bench.report.export import export_trials
from fer_bench.report.frames import history_frame, read_all, report_records
from fer_bench.report.order import natural_key, variant_order, variant_positions
from fer_bench.report.render import markdown_anchors, render_report, variant_summary
from fer_bench.report.stats import summarize
from fer_bench.report.verdict import compare_best
from fer_bench.spec.load import load_spec
from fer_bench.spec.trials import Overrides, expand

EXPECTED = {"order": ORDER_VARIANTS, "Listed.v2": LISTED_VARIANTS, "unread": UNREAD_VARIANTS}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    base = tmp_path_factory.mktemp("ordered")
    return make_results(base / "results", base / "specs")


@pytest.fixture(scope="module")
def rendered(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("ordered-reports")
    return {suffix: render_report([results], out / f"report.{suffix}").read_text() for suffix in ("html", "md")}


def markdown_section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def markdown_variant_rows(text: str, spec: str) -> dict[str, str]:
    """The spec's variants table only: the all-pairs table below it starts its rows with variant names too."""
    section = markdown_section(text, spec)
    table = section[section.index("| variant | n |"):].split("\n\n")[0]
    return {line.split(" | ")[0].removeprefix("| "): line for line in table.splitlines()[2:]}


def markdown_variants(text: str, spec: str) -> list[str]:
    return list(markdown_variant_rows(text, spec))


def html_variants(text: str, spec: str) -> list[str]:
    section = text[text.index(f'<section id="spec-{spec}">'):]
    start = section.index('<table class="variants">')
    table = section[start:section.index("</table>", start)]
    return re.findall(r"<tr><td>([^<]+)</td><td>\d+</td>", table)


def test_the_issues_grid_sorts_three_ways():
    """Why these records: as strings, as numbers and as the spec lists them, the variants differ."""
    assert sorted(ORDER_VARIANTS) != ORDER_VARIANTS
    assert sorted(ORDER_VARIANTS, key=natural_key) != ORDER_VARIANTS
    assert sorted(LISTED_VARIANTS, key=natural_key) != LISTED_VARIANTS


def test_variant_tables_follow_the_spec_order(results, rendered):
    for spec, expected in EXPECTED.items():
        assert markdown_variants(rendered["md"], spec) == expected, spec
        assert html_variants(rendered["html"], spec) == expected, spec


def test_order_is_the_spec_expansion_with_floats_read_as_the_run_read_them(tmp_path):
    """`5e-4` is a float to the run (YAML 1.2), a string to plain PyYAML: the order must know the run's label."""
    text = ("name: lr\ndataset: {source: sample}\n" + TINY
            + "sweep:\n  grid:\n    training.optimizer.learning_rate: [1e-3, 5e-4, 1e-4]\n")
    labels = list(dict.fromkeys(t.variant for t in expand(load_spec(write(tmp_path / "lr.yaml", text)), Overrides())))
    records = [{"spec": "lr", "variant": label, "spec_content": text} for label in reversed(labels)]
    positions = variant_positions(records)
    frame = pd.DataFrame({"variant": [r["variant"] for r in records],
                          "variant_position": [positions.get(("lr", r["variant"])) for r in records]})
    assert variant_order(frame) == labels == [
        "learning_rate-0.001", "learning_rate-0.0005", "learning_rate-0.0001"]


def test_natural_order_where_the_spec_cannot_say():
    labels = ["batch_size-128", "dropout-0.5", "batch_size-32", "dropout-0", "batch_size-64", "dropout-0.25",
              "conv_filters-64-128-512-512", "conv_filters-32-64-128-256"]
    frame = pd.DataFrame({"variant": labels})
    assert variant_order(frame) == ["batch_size-32", "batch_size-64", "batch_size-128", "conv_filters-32-64-128-256",
                                    "conv_filters-64-128-512-512", "dropout-0", "dropout-0.25", "dropout-0.5"]


def test_search_variants_come_in_trial_number_order():
    root = REPO / "results" / "reference" / "cpu-search-seeds"
    first = {}
    for record in report_records([root]):  # variants as the report names them: with their epochs
        number = record["search"]["trial_number"]
        first[record["variant"]] = min(number, first.get(record["variant"], number))
    order = variant_order(load_records(root))
    assert sorted(order) == sorted(first) and [first[v] for v in order] == sorted(first.values())


def test_figures_follow_the_table_order_and_clip_their_error_bars(results, monkeypatch):
    monkeypatch.setattr(figures, "png_bytes", lambda fig: fig)
    frame = load_records(results)
    summary = variant_summary(frame[(frame["spec"] == "order") & (frame["status"] == "complete")])
    history = history_frame(read_all([results]))
    history = history[history["spec"] == "order"]
    bars = figures.accuracy_bars(summary)
    assert [t.get_text() for t in bars.axes[0].get_xticklabels()] == ORDER_VARIANTS
    ends = [y for bar in bars.axes[0].collections for segment in bar.get_segments() for _, y in segment]
    assert len(ends) == 2 * 3 * len(ORDER_VARIANTS) and min(ends) == 0.0 and max(ends) == 1.0
    curves = figures.learning_curves(history)
    labelled = [line.get_label() for line in curves.axes[0].get_lines() if not line.get_label().startswith("_")]
    assert labelled == ORDER_VARIANTS
    curves.canvas.draw()
    where = {t.get_text(): t.get_window_extent() for t in curves.legends[0].get_texts()}
    assert sorted(where, key=lambda v: (-round(where[v].y0), where[v].x0)) == ORDER_VARIANTS  # read row by row
    lr = figures.lr_schedule(history)
    assert [t.get_text() for t in lr.axes[0].get_legend().get_texts()] == ORDER_VARIANTS
    for fig in (bars, curves, lr):
        figures.plt.close(fig)


def test_two_seed_intervals_stay_inside_0_100_and_are_called_wide(results, rendered):
    frame = load_records(results)
    rows = markdown_variant_rows(rendered["md"], "order")
    for variant in ORDER_VARIANTS:
        values = frame[(frame["spec"] == "order") & (frame["variant"] == variant)]["val_accuracy"].to_numpy()
        mean, sd = values.mean(), values.std(ddof=1)
        half = stats.t.ppf(0.975, 1) * sd / np.sqrt(2)
        assert mean - half < 0 and mean + half > 1  # the honest t-interval runs past both ends
        assert f"{100 * mean:.2f} ± {100 * sd:.2f} [0.00, 100.00], n=2: wide |" in rows[variant]
    for text in rendered.values():
        bounds = [float(b) for pair in re.findall(r"\[(-?[\d.]+), (-?[\d.]+)\]", text) for b in pair]
        assert bounds and all(0 <= b <= 100 for b in bounds)
    assert '[0.00, 100.00] <span class="wide"' in rendered["html"]


def test_summarize_clips_to_the_metrics_range_and_says_when_the_interval_is_wide():
    low = summarize([0.05, 0.15], bounds=(0.0, 1.0))
    assert low["ci_low"] == 0.0 and low["ci_high"] == pytest.approx(0.1 + stats.t.ppf(0.975, 1) * 0.05)
    assert low["wide"]
    inside = summarize([0.60, 0.62], bounds=(0.0, 1.0))
    assert 0 < inside["ci_low"] < 0.60 and inside["ci_high"] < 1 and inside["wide"]
    many = summarize(np.linspace(0.60, 0.67, 8), bounds=(0.0, 1.0))
    assert not many["wide"]
    assert summarize([0.05, 0.15])["ci_low"] < 0  # unbounded: the t-interval itself
    assert not summarize([0.5, 0.5], bounds=(0.0, 1.0))["wide"]
    # three copies of one value (cpu-search-seeds' "24.05 ± 0.00 [24.05, 24.05] n=3: wide"): float rounding
    # gave them a spread of 3e-17 and an interval wider than their spread of 0
    same = summarize([0.2405] * 3, bounds=(0.0, 1.0))
    assert same["std"] == 0 and same["ci_low"] == same["ci_high"] == pytest.approx(0.2405) and not same["wide"]


def test_summary_opens_the_report_with_each_specs_best_and_verdict(results, rendered):
    md, html = rendered["md"], rendered["html"]
    summary = markdown_section(md, "Summary")
    assert md.index("\n## Summary\n") < md.index("\n## Contents\n") < md.index("\n## Listed.v2\n")
    assert html.index('<header id="summary">') < html.index("<section")
    header = html[html.index('<header id="summary">'):html.index("</header>")]
    frame = load_records(results)
    for spec in EXPECTED:
        rows = frame[frame["spec"] == spec]
        means = rows.groupby("variant")[["val_accuracy", "public_test_accuracy", "private_test_accuracy"]].mean()
        best = means["val_accuracy"].idxmax()
        verdict = compare_best(rows, "val_accuracy").sentence("validation accuracy")
        line = next(line for line in summary.splitlines() if line.startswith(f"| [{spec}]("))
        cells = [f"{100 * means.loc[best, m]:.2f} ± " for m in means.columns]
        assert f" | {best} | 2 | " in line and all(c in line for c in cells) and line.endswith(f" {verdict} |")
        assert f'<td><a href="#spec-{spec}">{spec}</a></td><td>{best}</td>' in header and verdict in header


def test_every_contents_link_resolves(rendered):
    markdown = pytest.importorskip("markdown")
    ids = set(re.findall(r'id="([^"]+)"', markdown.markdown(rendered["md"], extensions=["tables", "toc"])))
    links = re.findall(r"\]\(#([^)]+)\)", rendered["md"])
    assert len(links) == 3 + 6 and set(links) <= ids and "listedv2" in links
    html_links = re.findall(r'href="#([^"]+)"', rendered["html"])
    html_ids = set(re.findall(r'id="([^"]+)"', rendered["html"]))
    assert len(html_links) == 3 + 6 and set(html_links) <= html_ids


def test_markdown_anchors_are_githubs():
    assert markdown_anchors(["Listed.v2", "Data audit: copies, leaks", "environment", "Environment"]) == [
        "listedv2", "data-audit-copies-leaks", "environment", "environment-1"]


def compared_variants(rows, spec: str) -> list[str]:
    return list(dict.fromkeys(r.variant for r in rows if r.spec == spec))


@pytest.mark.slow
def test_compare_lists_variants_in_the_spec_order(results, tmp_path):
    candidate = tmp_path / "candidate"
    shutil.copytree(results, candidate)
    for path in candidate.glob("order/sgd_batch_size-64_*"):
        shutil.rmtree(path)  # only in the base: still in its place
    rows = compare(load_side(results), load_side(candidate), 0.0, False)
    for spec, expected in EXPECTED.items():
        assert compared_variants(rows, spec) == expected, spec
    page = write_page(rows, tmp_path / "c.md", results, candidate, 0.0).read_text()
    listed = [line.split(" | ")[1] for line in page.splitlines() if line.startswith("| order |")]
    assert list(dict.fromkeys(listed)) == ORDER_VARIANTS
    exported = export_trials([results], tmp_path / "base.csv")
    from_table = compare(load_side(exported), load_side(candidate), 0.0, False)
    assert compared_variants(from_table, "order") == ORDER_VARIANTS
    older = pd.read_csv(exported).drop(columns="variant_position")  # a table exported before the column
    older.to_csv(tmp_path / "older.csv", index=False)
    natural = compare(load_side(tmp_path / "older.csv"), load_side(tmp_path / "older.csv"), 0.0, False)
    assert compared_variants(natural, "order") == sorted(ORDER_VARIANTS, key=natural_key)
