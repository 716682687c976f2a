"""The report as a reader sees it: every table and figure checked against values recomputed from records."""

import base64
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import call_main

from fer_bench import load_records
from fer_bench.data.formats import EMOTIONS
from fer_bench.report.stats import summarize
from fer_bench.report.verdict import compare_best

# The tests marked slow read the session's one trained smoke run (the fixture trains it once).


@pytest.fixture(scope="module")
def smoke(smoke_results):
    out, result = smoke_results
    assert result.returncode == 0, result.stderr
    return out


def edited_copy(smoke, folder, edit):
    """The smoke run copied to `folder`, every record passed through `edit` (which changes it in place)."""
    shutil.copytree(smoke, folder)
    for path in folder.rglob("record.json"):
        record = json.loads(path.read_text())
        edit(record)
        path.write_text(json.dumps(record))
    return folder


@pytest.fixture(scope="module")
def reports(smoke, tmp_path_factory):
    target = tmp_path_factory.mktemp("reports")
    texts = {}
    for suffix in ("html", "md"):
        result = call_main("report", smoke, "-o", target / f"report.{suffix}")
        assert result.returncode == 0, result.stderr
        texts[suffix] = (target / f"report.{suffix}").read_text()
    return target, texts


def records_of(results):
    return [json.loads(p.read_text()) for p in sorted(results.rglob("record.json"))]


def both(reports, fragment):
    _, texts = reports
    for suffix, text in texts.items():
        assert fragment in text, f"{fragment!r} missing from the {suffix} report"


@pytest.mark.slow
def test_variant_table_holds_the_recomputed_means(smoke, reports):
    frame = load_records(smoke)
    for _, group in frame.groupby("variant"):
        for metric in ("val_accuracy", "public_test_accuracy", "private_test_accuracy"):
            stats = summarize(group[metric])
            both(reports, f"{100 * stats['mean']:.2f} ± {100 * stats['std']:.2f}")


@pytest.mark.slow
def test_markdown_tables_keep_one_row_per_line(reports):
    _, texts = reports
    rows = [line for line in texts["md"].splitlines() if line.startswith("| dropout-")]
    # the variant table (means ± spread), the beyond-accuracy table and the running cost: one row per variant each
    assert len(rows) == 6 and all(row.endswith("|") and row.count("| dropout-") == 1 for row in rows)
    assert len([row for row in rows if " ± " in row]) == 2


@pytest.mark.slow
def test_every_figure_caption_carries_a_recomputed_value(smoke, reports):
    records = records_of(smoke)
    frame = load_records(smoke)
    best = frame.groupby("variant")["val_accuracy"].mean().idxmax()
    mine = [r for r in records if r["variant"] == best]
    both(reports, f"best on validation: {best}, {100 * np.mean([r['metrics']['val_accuracy'] for r in mine]):.2f}%")
    both(reports, f"validation accuracy {100 * np.mean([r['history'][-1]['val_accuracy'] for r in mine]):.2f}%")
    both(reports, f"at its last epoch: {np.mean([r['history'][-1]['lr'] for r in mine]):.3g}")
    conv1 = np.mean([r["history"][-1]["grad_norms"]["conv1"] for r in mine])
    both(reports, f"conv1 at the last epoch: {conv1:.4g}")
    for split in ("public_test", "private_test"):
        matrix = np.sum([np.array(r["confusion_matrix"][split]) for r in mine], axis=0)
        both(reports, f"{int(np.trace(matrix))} of {int(matrix.sum())} correct")
    shown = mine[0]["predictions"]
    correct = sum(t == p for t, p in zip(shown["true"], shown["predicted"]))
    both(reports, f"true → predicted; {correct} of {len(shown['true'])} correct")


@pytest.mark.slow
def test_per_class_and_confused_pairs_tables(smoke, reports):
    from sklearn.metrics import f1_score

    records = records_of(smoke)
    frame = load_records(smoke)
    best = frame.groupby("variant")["val_accuracy"].mean().idxmax()
    matrix = np.sum([np.array(r["confusion_matrix"]["public_test"]) for r in records if r["variant"] == best], axis=0)
    true = np.repeat(np.arange(7), matrix.sum(axis=1))
    predicted = np.concatenate([np.repeat(np.arange(7), row) for row in matrix])
    f1 = f1_score(true, predicted, labels=range(7), average=None, zero_division=0)
    happy = EMOTIONS.index("Happy")
    both(reports, f"{f1[happy]:.3f}")
    off = matrix.copy()
    np.fill_diagonal(off, -1)
    i, j = np.unravel_index(off.argmax(), off.shape)
    _, texts = reports
    assert re.search(rf"{EMOTIONS[i]}\W+(td>|\| )?\W*{EMOTIONS[j]}\W+(td>|\| )?\W*{off[i, j]}\b", texts["md"])


@pytest.mark.slow
def test_html_is_self_contained_and_markdown_links_resolve(reports):
    target, texts = reports
    sources = re.findall(r'<img src="([^"]+)"', texts["html"])
    assert len(sources) >= 7 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert all(base64.b64decode(s.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n" for s in sources)
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", texts["md"])
    assert len(links) == len(sources)
    assert all((target / link).is_file() and (target / link).stat().st_size > 1000 for link in links)


@pytest.mark.slow
def test_sample_runs_are_marked_and_never_beside_the_study(reports):
    both(reports, "Made on the bundled sample of FER-2013")
    _, texts = reports
    assert "Beside the study" not in texts["md"]
    both(reports, "Khaireddin")


@pytest.mark.slow
def test_user_strings_are_escaped_in_html(smoke, tmp_path):
    def hostile_strings(record):
        record.update(spec="<script>alert('spec')</script>", error="<img src=x onerror=alert(1)>", status="failed",
                      spec_content="name: x\ndescription: <script>alert('description')</script>\n")

    hostile = edited_copy(smoke, tmp_path / "hostile", hostile_strings)
    result = call_main("report", hostile, "-o", tmp_path / "r.html")
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "r.html").read_text()
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;description&#39;)&lt;/script&gt;" in html


@pytest.mark.slow
def test_failed_trials_are_listed_not_plotted(smoke, tmp_path):
    mixed = tmp_path / "mixed"
    shutil.copytree(smoke, mixed)
    path = sorted(mixed.rglob("record.json"))[0]
    record = json.loads(path.read_text())
    record.update(status="diverged", diverged_epoch=2, error="diverged at epoch 2: loss is nan")
    for key in ("metrics", "best_metrics", "confusion_matrix"):
        record.pop(key)
    path.write_text(json.dumps(record))
    (mixed / "smoke" / "broken").mkdir()
    (mixed / "smoke" / "broken" / "record.json").write_text("{not json")
    result = call_main("report", mixed, "-o", tmp_path / "r.md")
    assert result.returncode == 0, result.stderr
    assert "broken/record.json: unreadable record skipped" in result.stderr
    text = (tmp_path / "r.md").read_text()
    assert f"| {record['trial_id']} | diverged | diverged at epoch 2: loss is nan |" in text


@pytest.mark.slow
def test_sample_predictions_that_do_not_fit_their_data_get_a_warning_not_a_grid(smoke, tmp_path):
    """Found by the results fuzzer: rows past the end of the data were an IndexError in the report."""
    def past_the_data(record):
        record["predictions"]["indices"] = [10**6] * len(record["predictions"]["indices"])

    moved = edited_copy(smoke, tmp_path / "moved", past_the_data)
    result = call_main("report", moved, "-o", tmp_path / "r.md")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "its sample predictions do not fit the data it names; no sample grid" in result.stderr


def test_metrics_recorded_as_null_everywhere_leave_gaps_not_a_crash(smoke, tmp_path):
    """Found by the record field sweep: a history column that held only nulls was refused by the curve
    plot (a TypeError), and no validation accuracy at all left no best variant (a ValueError)."""
    def unscored(record):
        record["metrics"]["val_accuracy"] = None
        for epoch in record.get("history", []):
            epoch["loss"] = None

    blank = edited_copy(smoke, tmp_path / "blank", unscored)
    result = call_main("report", blank, "-o", tmp_path / "r.md")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "best on validation: dropout-0, -%" in (tmp_path / "r.md").read_text()  # the first variant


def test_empty_results_and_bad_output_are_one_line_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    for args, fragment in (([tmp_path / "empty", "-o", tmp_path / "r.html"], "no trial records found"),
                           ([tmp_path / "nope", "-o", tmp_path / "r.html"], "no such results directory"),
                           ([tmp_path / "empty", "-o", tmp_path / "r.pdf"], "must end in .html or .md")):
        result = call_main("report", *args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and fragment in result.stderr


@pytest.mark.slow
def test_export_and_python_api(smoke, tmp_path):
    result = call_main("report", smoke, "-o", tmp_path / "r.md", "--export", tmp_path / "trials.csv")
    assert result.returncode == 0, result.stderr
    exported = pd.read_csv(tmp_path / "trials.csv")
    frame = load_records(smoke)
    assert len(exported) == len(frame) == 4
    assert np.allclose(sorted(exported["public_test_accuracy"]), sorted(frame["public_test_accuracy"]))


def synthetic(differences: list[float], seeds: int = 6, noise: float = 0.01) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    shared = rng.normal(0.6, noise, seeds)  # seed effects shared by both variants: what pairing removes
    rows = []
    for variant, shift in zip(("a", "b"), differences):
        for seed in range(seeds):
            rows.append({"variant": variant, "seed": seed, "status": "complete",
                         "val_accuracy": shared[seed] + shift + rng.normal(0, noise / 5)})
    return pd.DataFrame(rows)


def test_verdicts_tell_a_real_difference_from_noise():
    real = compare_best(synthetic([0.02, 0.0]), "val_accuracy")
    assert real.best == "a" and real.significant and real.test == "paired t-test over seeds" and real.n == 6
    assert "beyond noise" in real.sentence("validation accuracy")
    none = compare_best(synthetic([0.0, 0.0]), "val_accuracy")
    assert not none.significant and "within noise" in none.sentence("validation accuracy")
    unpaired = synthetic([0.03, 0.0])
    unpaired.loc[unpaired["variant"] == "b", "seed"] += 100
    welch = compare_best(unpaired, "val_accuracy")
    assert welch.test == "Welch's t-test" and welch.significant


def test_confidence_interval_matches_the_t_formula():
    from scipy import stats

    values = [0.61, 0.62, 0.60, 0.63]
    s = summarize(values)
    half = stats.t.ppf(0.975, 3) * np.std(values, ddof=1) / 2
    assert s["ci_low"] == pytest.approx(np.mean(values) - half)
    assert s["ci_high"] == pytest.approx(np.mean(values) + half)


@pytest.mark.slow
def test_backends_side_by_side(smoke, tmp_path):
    def on_jax(record):
        record["environment"]["backend"] = "jax"
        record["timing"]["steady_train_images_per_s"] = 1234.0

    other = edited_copy(smoke, tmp_path / "jax", on_jax)
    result = call_main("report", smoke, other, "-o", tmp_path / "r.md")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "r.md").read_text()
    assert "### Backends side by side" in text and "| jax |" in text and "| 1,234 |" in text
    assert "this comparison mixes backends: jax, tensorflow" in text


@pytest.mark.slow
def test_records_older_than_time_to_accuracy_answer_from_their_history(smoke, tmp_path):
    """Records written before the time_to_accuracy block: epochs to 50% come from the per-epoch history;
    with no history either, the report says "not recorded" rather than "0 of n reached"."""
    old = tmp_path / "old"
    shutil.copytree(smoke, old)
    paths = sorted(old.rglob("record.json"))
    variants = sorted({json.loads(p.read_text())["variant"] for p in paths})
    for path in paths:
        record = json.loads(path.read_text())
        del record["time_to_accuracy"]
        if record["variant"] == variants[0]:
            record["history"][-1]["val_accuracy"] = 0.51
            expected_epoch = record["history"][-1]["epoch"]
        else:
            record["history"] = []
        path.write_text(json.dumps(record))
    frame = load_records(old).set_index("variant")
    assert (frame.loc[variants[0], "epochs_to_0.50"] == expected_epoch).all()
    result = call_main("report", old, "-o", tmp_path / "report.md")
    assert result.returncode == 0, result.stderr
    rows = {line.split(" | ")[0].lstrip("| "): line for line in (tmp_path / "report.md").read_text().splitlines()
            if line.startswith("| dropout-") and " ± " in line}  # the variant table's
    assert f"| {expected_epoch:.1f} (2/2) |" in rows[variants[0]]
    assert "| not recorded |" in rows[variants[1]] and "(0/" not in rows[variants[1]]


def test_a_one_epoch_run_gets_one_whole_epoch_tick():
    """A run of one epoch once drew its lone points on an axis from 0.945 to 1.050; now the epoch sits in the
    middle of its one tick, and longer runs keep whole-number ticks."""
    import matplotlib.pyplot as plt

    from fer_bench.report.figures import epoch_axis

    fig, (one, many) = plt.subplots(1, 2)
    one.plot([1], [0.3], marker="o")
    epoch_axis(one, pd.Series([1, 1, 1]))
    assert one.get_xlim() == (0.5, 1.5) and list(one.get_xticks()) == [1]
    many.plot([1, 2, 3, 4, 5], [0.1, 0.2, 0.3, 0.35, 0.4])
    epoch_axis(many, pd.Series([1, 2, 3, 4, 5]))
    assert all(float(t).is_integer() for t in many.get_xticks())
    plt.close(fig)


@pytest.mark.slow
def test_the_beyond_accuracy_table_holds_each_variants_recomputed_means(smoke, reports):
    """Per variant, balanced accuracy, macro-F1, NLL, Brier, ECE before and after temperature scaling, and T:
    the means of its seeds' records, in both reports."""
    _, texts = reports
    for text in texts.values():
        assert "Beyond accuracy" in text and "validation ECE after T %" in text
    by_variant = {}
    for record in records_of(smoke):
        by_variant.setdefault(record["variant"], []).append(record["metrics"])
    for variant, scores in by_variant.items():
        balanced = 100 * np.mean([s["val_balanced_accuracy"] for s in scores])
        temperature = np.mean([s["temperature"] for s in scores])
        row = next(line for line in texts["md"].splitlines()
                   if line.startswith(f"| {variant} | {len(scores)} | {balanced:.1f}"))
        assert f"| {temperature:.3f}" in row, row


@pytest.mark.slow
def test_each_spec_section_names_its_model(smoke, reports, tmp_path):
    """The smoke spec's one model by builder, size and MACs; two models in one spec, each with its variants."""
    record = records_of(smoke)[0]
    model = record["model"]
    saved = f"{record['running_cost']['saved_bytes'] / 1e6:,.1f} MB saved"
    both(reports, f"Model: cnn, {model['parameters']:,} parameters, {model['macs_per_image'] / 1e6:,.1f} MMAC/image, "
                  f"{saved}.")

    def widen(record):
        if record["variant"] == "dropout-0.25":
            record["model"].update(parameters=123, source="python: __main__.wide")

    edited = edited_copy(smoke, tmp_path / "two", widen)
    result = call_main("report", edited, "-o", tmp_path / "r.md")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "r.md").read_text()
    mmac = f"{model['macs_per_image'] / 1e6:,.1f} MMAC/image"
    assert "Models: " in text and f"cnn, {model['parameters']:,} parameters, {mmac}, {saved} (dropout-0)" in text
    assert f"cnn (python: __main__.wide), 123 parameters, {mmac}, {saved} (dropout-0.25)" in text
