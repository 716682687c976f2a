"""Records -> one report: tables, statistics and figures through the Jinja2 templates.

The report reads records (and, for the sample-predictions grid, the images they name); it never
trains anything.
"""

import base64
import json
import math
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from fer_bench.data.formats import EMOTIONS
from fer_bench.errors import UserError, WriteError
from fer_bench.records import ACCURACY_THRESHOLDS
from fer_bench.report import figures, reliability, robustness, running_cost
from fer_bench.report.frames import history_frame, label_pairs, report_records, trials_frame
from fer_bench.report.importance import importance_section
from fer_bench.report.labels import LOWER_IS_BETTER, in_points, metric_label, metric_rows, score_label
from fer_bench.report.order import sort_rows, variant_groups, variant_order
from fer_bench.report.pairs import all_pairs, correction_note
from fer_bench.report.power import MOST_SEEDS
from fer_bench.report.reference import ANCHORS, STUDY
from fer_bench.report.search import distinct_runs, in_strategy_order, search_section
from fer_bench.report.stats import summarize
from fer_bench.report.time_to_target import target_rows, target_summary
from fer_bench.report.variance import components
from fer_bench.report.verdict import compare_best
from fer_bench.storage import check_writable

TABLE_METRICS = ("val_accuracy", "public_test_accuracy", "private_test_accuracy")
DEDUP_METRICS = tuple(f"{m}_dedup" for m in TABLE_METRICS)
THRESHOLDS = tuple(f"{t:.2f}" for t in ACCURACY_THRESHOLDS)
# The Markdown report's top-level headings after the specs' own, for the contents' links.
CLOSING_SECTIONS = (("audit", "Data audit: copies, leaks and conflicts"), ("anchors", "Public FER-2013 anchors"),
                    ("environment", "Environment"))


def template_dir() -> Path:
    package = Path(__file__).resolve().parent.parent
    for folder in (package / "templates", package.parent / "templates"):
        if folder.is_dir():
            return folder
    raise UserError("report templates not found: reinstall fer-bench")


def render_report(paths, output: Path, score: str = "accuracy") -> Path:
    """Write the report to `output` (.html: one self-contained file; .md: figures in a folder beside it);
    `score`: what the verdicts go by (labels.SCORES)."""
    suffix = output.suffix.lower()
    if suffix not in (".html", ".md"):
        raise UserError(f"{output}: the report must end in .html or .md")
    metric_rows(score)  # an unknown score fails here, before any record is read
    check_writable(output.parent, f"-o {output}")
    records = report_records(paths)
    figure_store = FigureStore(output, inline=suffix == ".html")
    context = build_context(records, paths, figure_store, score)
    # Markdown is not HTML: escaping it would show &lt; to readers. Every HTML page escapes everything.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(template_dir()),
                             autoescape=jinja2.select_autoescape(["html.j2"], default_for_string=False),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = percent
    env.filters["mean_sd"] = lambda pair: percent(pair[0]) + ("" if _missing(pair[1]) else f" ± {percent(pair[1])}")
    env.filters["num"] = lambda v, d=1: "-" if v is None or pd.isna(v) else f"{v:,.{d}f}"
    env.filters["model"] = describe_model
    env.filters["seeds"] = lambda n: "-" if n is None else (f"over {MOST_SEEDS:,}" if n > MOST_SEEDS else str(n))
    text = env.get_template(f"report{suffix}.j2").render(**context)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise WriteError(f"{output}: cannot write the report ({exc.strerror or exc})") from None
    return output


def percent(value) -> str:
    if _missing(value):
        return "-"
    shown = f"{100 * value:.2f}"
    return "0.00" if shown == "-0.00" else shown  # a gap of -0.001 points is no gap


def _missing(value) -> bool:
    return value is None or pd.isna(value)


class FigureStore:
    """Figures as data URIs (HTML) or as PNG files in <report>_files/ (Markdown)."""

    def __init__(self, output: Path, inline: bool):
        self.inline, self.folder = inline, output.with_name(output.stem + "_files")
        self.count = 0

    def add(self, name: str, png: bytes) -> str:
        self.count += 1
        if self.inline:
            return "data:image/png;base64," + base64.b64encode(png).decode()
        self.folder.mkdir(parents=True, exist_ok=True)
        filename = f"{self.count:02d}-{''.join(c if c.isalnum() or c in '-_' else '-' for c in name)}.png"
        (self.folder / filename).write_bytes(png)
        return f"{self.folder.name}/{filename}"


def build_context(records: list[dict], paths, store: FigureStore, score: str = "accuracy") -> dict:
    trials = trials_frame(records)
    history = history_frame(records)
    specs = [spec_section(name, trials[trials["spec"] == name], history, records, store, score)
             for name in sorted(trials["spec"].unique())]
    sections = contents(specs)
    return {
        "summary": [{**spec["headline"], "markdown": entry["markdown"]} for spec, entry in zip(specs, sections)],
        "contents": sections,
        "audits": audit_sections(records, store),
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sources": [str(p) for p in paths],
        "n_records": len(records),
        "specs": specs,
        "score": score_label(metric_rows(score)[0][1], score),
        "environments": environment_rows(records),
        "anchors": ANCHORS,
        "emotions": EMOTIONS,
    }


def contents(specs: list[dict]) -> list[dict]:
    """The report's sections in order, each with its HTML id and its Markdown heading's anchor."""
    entries = [{"title": s["name"], "html": f"spec-{s['name']}"} for s in specs]
    entries += [{"title": heading, "html": html} for html, heading in CLOSING_SECTIONS]
    anchors = markdown_anchors(["fer-bench report", "Summary", "Contents", *(e["title"] for e in entries)])[3:]
    return [{**entry, "markdown": anchor} for entry, anchor in zip(entries, anchors)]


def markdown_anchors(headings: list[str]) -> list[str]:
    """GitHub's ids for headings in page order: lower case, punctuation dropped, spaces as hyphens, -1 on a repeat."""
    seen, anchors = {}, []
    for heading in headings:
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.append(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def spec_section(name: str, trials: pd.DataFrame, history: pd.DataFrame, records: list[dict],
                 store: FigureStore, score: str = "accuracy") -> dict:
    """`score`: what the verdicts and the best variant go by, per split (labels.SCORES; accuracy by default)."""
    complete = trials[trials["status"] == "complete"]
    spec_records = [r for r in records if r["spec"] == name]
    if any(r.get("search") for r in spec_records):  # a training repeated by several strategies counts once
        complete = distinct_runs(complete)
    kept = set(complete["trial_id"])
    distinct = [r for r in spec_records if r["trial_id"] in kept or r.get("status") != "complete"]
    order = variant_order(trials)
    section = {
        "name": name,
        "description": (spec_records[0].get("config") and _description(spec_records[0])) or "",
        "n_trials": len(trials),
        "on_sample": bool((trials["data_source"] == "sample").any()),
        "problems": sort_rows(problem_rows(spec_records), order),
        "warnings": mixed_environment_warnings(trials),
        "backends": backend_rows(complete),
        "rows": [], "figures": [], "verdicts": [], "pairs": [], "pairs_note": "", "variance": [], "study": None,
        "score": {"name": "validation accuracy", "lower": False, "points": True},
        "beyond": [], "beyond_headings": [], "models": model_rows(spec_records), "running_cost": [],
        "pareto": [],
        "per_class": [], "confused": [],
        "search": search_section(name, spec_records, store),
        "importance": importance_section(name, spec_records, store),
        "tta": sort_rows(tta_rows(distinct), order),
        "targets": sort_rows(target_rows(distinct), order),
        "target_summary": sort_rows(target_summary(distinct), order),
    }
    if any(r["config"]["dataset"].get("protocol") == "full-train" for r in spec_records):
        section["warnings"].append("protocol full-train: trained on all of Training; the validation column is "
                                   "PrivateTest, on which the best epoch was chosen, so PublicTest is the held-out "
                                   "score")
    if complete.empty:
        section["headline"] = headline(section, None, None)
        return section
    summary = variant_summary(complete)
    section["rows"] = summary.reset_index().to_dict("records")
    section["beyond"], section["beyond_headings"] = beyond_rows(complete)
    section["running_cost"] = running_cost.rows(complete)
    # A search's repeated proposals are one configuration, not independent samples: no t-tests there.
    judged = [(column, label) for column, label in metric_rows(score) if column in complete]
    lower, points = score in LOWER_IS_BETTER, in_points(score)
    pairs = {column: all_pairs(complete, column, lower_is_better=lower) for column, _ in judged} \
        if section["search"] is None else {}
    verdicts = [(label, compare_best(complete, column, pairs[column], lower_is_better=lower))
                for column, label in judged if column in pairs]
    section["verdicts"] = [verdict.sentence(score_label(label, score), points)
                           for label, verdict in verdicts if verdict]
    first = judged[0][0] if judged else "val_accuracy"
    section["pairs"] = pair_rows(pairs.get(first, []))
    section["pairs_note"] = correction_note(pairs.get(first, []))
    section["score"] = {"name": score_label(judged[0][1], score) if judged else "validation accuracy",
                        "lower": lower, "points": points}
    section["variance"] = [row for metric in TABLE_METRICS[:2] for row in components(complete, metric)]
    best = best_variant(complete, summary, first, lower)
    section["best"] = best
    section["headline"] = headline(section, summary.loc[best], section["verdicts"][0] if section["verdicts"] else None)
    if name in STUDY and not section["on_sample"]:
        section["study"] = study_rows(name, summary, best)
    spec_history = history[history["trial_id"].isin(complete["trial_id"])]
    best_history = spec_history[spec_history["variant"] == best]
    last = best_history[best_history["epoch"] == best_history["epoch"].max()]
    figs = section["figures"]
    figs.append((f"Accuracy per variant (mean over seeds, 95% CI clipped to 0-100%); best on validation: {best}, "
                 f"{percent(summary.loc[best, 'val_accuracy_mean'])}%",
                 store.add(f"{name}-bars", figures.accuracy_bars(summary))))
    if not best_history.empty:  # saved models scored by `fer-bench evaluate` have no history
        figs.append((f"Learning curves (mean over seeds, min-max band); {best} at its last epoch: "
                     f"validation accuracy {percent(last['val_accuracy'].mean())}%",
                     store.add(f"{name}-curves", figures.learning_curves(spec_history))))
        figs.append((f"Learning rate per epoch; {best} at its last epoch: {last['lr'].mean():.3g}",
                     store.add(f"{name}-lr", figures.lr_schedule(spec_history))))
        grads = [c for c in best_history.columns if c.startswith("grad/") and best_history[c].notna().any()]
        if grads:
            figs.append((f"Per-layer gradient norms over training ({best}); {grads[0].removeprefix('grad/')} at the "
                         f"last epoch: {last[grads[0]].mean():.4g}",
                         store.add(f"{name}-gradients", figures.gradient_norms(spec_history, best))))
    best_records = [r for r in spec_records if r.get("variant") == best and r.get("status") == "complete"]
    for split, label in (("public_test", "PublicTest"), ("private_test", "PrivateTest")):
        matrix = np.sum([np.array(r["confusion_matrix"][split]) for r in best_records], axis=0)
        figs.append((f"Confusion matrix, {label}, {best} (all seeds, row-normalised, with counts): "
                     f"{int(np.trace(matrix))} of {int(matrix.sum())} correct",
                     store.add(f"{name}-confusion-{split}", figures.confusion(matrix, f"{best}: {label}"))))
        if split == "public_test":
            section["per_class"] = per_class(matrix)
            section["confused"] = most_confused(matrix)
    calibration = reliability_panels(spec_records, complete, best, first, lower)
    if calibration:
        figs.append((f"Reliability on PublicTest ({' and '.join(v for v, _ in calibration)}; every seed's "
                     "predictions pooled): accuracy against top-label confidence in 15 bins; the orange bars: "
                     "the share of predictions in each bin", store.add(f"{name}-reliability",
                                                                        reliability.diagram(calibration))))
    corrupted = {variant: found for variant in [best, *summary.index.drop(best)]
                 if (found := robustness.by_severity([r for r in spec_records
                                                      if r.get("variant") == variant and r["trial_id"] in kept]))}
    if best in corrupted:
        names, table, clean = corrupted[best]
        figs.append((f"FER-2013-C: PublicTest accuracy by corruption and severity ({best}, mean over seeds): "
                     f"{table.mean() * 100:.1f}% on average against {clean * 100:.1f}% clean; hardest: "
                     f"{names[int(table.mean(axis=1).argmin())].replace('_', ' ')}",
                     store.add(f"{name}-corruptions", robustness.figure(best, corrupted))))
    if section["running_cost"]:
        means = complete.groupby("variant")[first].mean()
        png, front = running_cost.figure(section["running_cost"], means.to_dict(), section["score"]["name"], lower,
                                         points)
        section["pareto"] = front
        if png is not None:
            figs.append((f"{section['score']['name'].capitalize()} against the latency of one image "
                         f"({section['running_cost'][0]['device']}); the Pareto front: {', '.join(front)}",
                         store.add(f"{name}-pareto", png)))
    grid = sample_grid(best_records)
    if grid:
        shown = best_records[0]["predictions"]
        correct = sum(t == p for t, p in zip(shown["true"], shown["predicted"]))
        figs.append((f"Sample PublicTest predictions ({best}, seed {best_records[0]['seed']}): true → predicted; "
                     f"{correct} of {len(shown['true'])} correct", store.add(f"{name}-samples", grid)))
    return section


def reliability_panels(records: list[dict], complete: pd.DataFrame, best: str, column: str,
                       lower: bool) -> list[tuple[str, dict]]:
    """(variant, pooled bins) for the best variant and the runner-up by `column`, where their records kept
    bins."""
    means = complete.groupby("variant")[column].mean().dropna() if column in complete else pd.Series(dtype=float)
    others = [v for v in means.sort_values(ascending=lower, kind="stable").index if v != best]
    kept = set(complete["trial_id"])
    panels = []
    for variant in [best, *others[:1]]:
        bins = reliability.pooled([r for r in records if r.get("variant") == variant and r["trial_id"] in kept])
        if bins is not None:
            panels.append((variant, bins))
    return panels


def best_variant(complete: pd.DataFrame, summary: pd.DataFrame, column: str, lower: bool) -> str:
    """The variant with the best mean of `column` (validation accuracy by default; the lowest of a calibration
    error or a loss); on equal means the one listed first. Where no trial has the score, by validation accuracy."""
    means = complete.groupby("variant")[column].mean().reindex(summary.index).dropna() \
        if column in complete else pd.Series(dtype=float)
    if means.empty:
        means, lower = summary["val_accuracy_mean"].dropna(), False
    if means.empty:
        return summary.index[0]
    return (means.idxmin() if lower else means.idxmax())


def headline(section: dict, best: pd.Series | None, verdict: str | None) -> dict:
    """The summary's line for a spec: its best variant on validation (the summary's row), that variant's scores,
    and the verdict against the runner-up."""
    line = {"name": section["name"], "html": f"spec-{section['name']}", "best": None, "n": 0,
            "scores": {m: (None, None) for m in TABLE_METRICS}, "verdict": verdict}
    if best is None:
        line["verdict"] = "no complete trials"
        return line
    line.update(best=best.name, n=int(best["n"]),
                scores={m: (best[f"{m}_mean"], best[f"{m}_std"]) for m in TABLE_METRICS})
    if verdict is None:
        line["verdict"] = ("a search: repeated proposals are one configuration, so no test against the runner-up"
                           if section["search"] else "one variant: nothing to compare it with")
    return line


def pair_rows(pairs: list) -> list[dict]:
    """The all-pairs table of a family (more than two variants: with two, the verdict says it all)."""
    if len(pairs) < 2 or all(p.p_value is None for p in pairs):
        return []
    return [{"a": p.a, "b": p.b, "difference": p.difference, "effect": p.effect, "test": p.test, "n": p.n,
             "p": p.p_value, "p_corrected": p.p_corrected,
             "verdict": "no test" if p.p_corrected is None else ("beyond noise" if p.significant else "within noise"),
             "detectable": p.power.detectable if p.power else None,
             "seeds_needed": p.power.seeds_needed if p.power else None} for p in pairs]


def problem_rows(records: list[dict]) -> list[dict]:
    return [{"trial_id": r["trial_id"], "variant": r.get("variant"), "seed": r.get("seed"), "status": r["status"],
             "error": r.get("error", ""), "epoch": r.get("diverged_epoch") or ""}
            for r in records if r.get("status") != "complete"]


# Per variant beyond accuracy (training/quality.py): (column, heading, shown as points)
BEYOND = (("val_balanced_accuracy", "validation balanced accuracy %", True),
          ("public_test_balanced_accuracy", "PublicTest balanced accuracy %", True),
          ("val_macro_f1", "validation macro-F1 %", True), ("val_nll", "validation NLL", False),
          ("val_brier", "validation Brier", False), ("val_ece", "validation ECE %", True),
          ("val_ece_scaled", "validation ECE after T %", True), ("temperature", "T", False),
          ("public_test_c_accuracy", "FER-2013-C accuracy %", True),
          ("public_test_c_drop", "drop from clean %", True))
# Present in records scored with training.corruptions only: a column where some trial has it
OPTIONAL_BEYOND = ("public_test_c_accuracy", "public_test_c_drop")
# Records without probabilities (from before these scores): what their confusion matrices give (frames.py)
FROM_MATRICES = (("public_test_balanced_accuracy", "PublicTest balanced accuracy %", True),
                 ("public_test_macro_f1", "PublicTest macro-F1 %", True),
                 ("private_test_balanced_accuracy", "PrivateTest balanced accuracy %", True),
                 ("private_test_macro_f1", "PrivateTest macro-F1 %", True))


def describe_model(row: dict) -> str:
    """'cnn, 4,479,687 parameters, 290.5 MMAC/image' (and where a builder from Python came from)."""
    macs = "MACs not given" if row["macs"] is None else f"{row['macs'] / 1e6:,.1f} MMAC/image"
    source = f" ({row['source']})" if row["source"] else ""
    saved = f", {row['saved_bytes'] / 1e6:,.1f} MB saved" if row.get("saved_bytes") else ""
    return f"{row['builder']}{source}, {row['parameters']:,} parameters, {macs}{saved}"


def model_rows(records: list[dict]) -> list[dict]:
    """The models a spec's trials trained, one row per distinct model (builder, where a builder given from
    Python came from, size, MACs per image) with the variants that used it: a report of two plug-ins side by
    side says which is which."""
    found: dict[str, dict] = {}
    for record in records:
        model = record.get("model")
        if not model or record.get("status") != "complete":
            continue
        # as a reader tells models apart: dropout rates or a learning rate make no other model
        key = json.dumps([model["builder"], model.get("source"), model["parameters"], model.get("macs_per_image")])
        row = found.setdefault(key, {"builder": model["builder"], "source": model.get("source", ""),
                                     "parameters": model["parameters"], "macs": model.get("macs_per_image"),
                                     "saved_bytes": (record.get("running_cost") or {}).get("saved_bytes"),
                                     "variants": []})
        if record.get("variant") not in row["variants"]:
            row["variants"].append(record.get("variant"))
    return list(found.values())


def beyond_rows(complete: pd.DataFrame) -> tuple[list[dict], list[str]]:
    """Per variant: class balance, calibration and (where scored) FER-2013-C, mean [95% interval] over seeds;
    and the headings. None where the records predate these scores."""
    scored = "val_ece" in complete and complete["val_ece"].notna().any()
    shown = [entry for entry in BEYOND if entry[0] not in OPTIONAL_BEYOND
             or (entry[0] in complete and complete[entry[0]].notna().any())] if scored else list(FROM_MATRICES)
    columns = [column for column, _, _ in shown]
    if not set(columns) <= set(complete.columns) or complete[columns].isna().all().all():
        return [], []
    rows = []
    for variant, group in variant_groups(complete):
        cells = []
        for column, _, points in shown:
            # a corrupted copy may score above the clean one: the relative drop can be below 0
            low = -math.inf if column.endswith("_drop") else 0.0
            found = summarize(group[column], bounds=(low, 1.0 if points else math.inf))
            scale, digits = (100, 1) if points else (1, 3)
            if found["mean"] is None:
                cells.append("-")
            elif found["ci_low"] is None or found["std"] == 0:
                cells.append(f"{found['mean'] * scale:.{digits}f}")
            else:
                cells.append(f"{found['mean'] * scale:.{digits}f} [{found['ci_low'] * scale:.{digits}f}, "
                             f"{found['ci_high'] * scale:.{digits}f}]")
        rows.append({"variant": variant, "n": len(group), "cells": cells})
    return rows, [heading for _, heading, _ in shown]


def tta_rows(records: list[dict]) -> list[dict]:
    """Per variant: single-view accuracy of the selected epoch beside the averaged test views."""
    rows = {}
    for r in records:
        if r.get("status") == "complete" and r.get("tta"):
            rows.setdefault(r["variant"], []).append(r)
    out = []
    for variant, group in rows.items():
        row = {"variant": variant, "n": len(group), "mode": group[0]["tta"]["mode"], "views": group[0]["tta"]["views"]}
        for metric in TABLE_METRICS:
            row[f"{metric}_single"] = float(np.mean([r["best_metrics"][metric] for r in group]))
            row[f"{metric}_tta"] = float(np.mean([r["tta"][metric] for r in group]))
        out.append(row)
    return out


def _description(record: dict) -> str:
    import yaml

    try:
        return str(yaml.safe_load(record.get("spec_content", "")).get("description", "")).strip()
    except (yaml.YAMLError, AttributeError):
        return ""


def variant_summary(complete: pd.DataFrame) -> pd.DataFrame:
    """One row per variant, in the spec's order: each metric's mean, spread and interval over seeds."""
    rows = {}
    for variant, group in variant_groups(complete):
        row = {"n": len(group)}
        if "trained_by" in group:  # a search's: the strategies that trained this configuration
            row["trained_by"] = ", ".join(in_strategy_order(s for names in group["trained_by"]
                                                            for s in names.split(", ")))
        for metric in (*TABLE_METRICS, *DEDUP_METRICS, "seconds_per_epoch", "train_images_per_s"):
            stats = summarize(group[metric], bounds=(0.0, 1.0 if "accuracy" in metric else math.inf))
            row.update({f"{metric}_{k}": v for k, v in stats.items() if k != "n"})
            row[f"{metric}_ci_note"] = f"n={stats['n']}: wide" if stats["wide"] else ""
        for metric in TABLE_METRICS:
            dedup, full = row[f"{metric}_dedup_mean"], row[f"{metric}_mean"]
            row[f"{metric}_dedup_gap"] = None if dedup is None or full is None else dedup - full
        for threshold in THRESHOLDS:
            column = f"epochs_to_{threshold}"
            reached = group[column].dropna() if column in group else pd.Series(dtype=float)
            known = int(group["accuracy_path_known"].sum()) if "accuracy_path_known" in group else 0
            row[f"to_{threshold}"] = ("not recorded" if not known else
                                      f"{reached.mean():.1f} ({len(reached)}/{known})" if len(reached) else
                                      f"- (0/{known})")
        rows[variant] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("variant")


def study_rows(name: str, summary: pd.DataFrame, best: str) -> list[dict]:
    study = STUDY[name]
    ours = summary.loc[best]
    return [{"metric": metric_label(metric), "study": study[metric], "ours": ours[f"{metric}_mean"],
             "ours_std": ours[f"{metric}_std"]}
            for metric in TABLE_METRICS if metric in study] + [{"label": study["label"], "variant": best}]


def per_class(matrix: np.ndarray) -> list[dict]:
    true, predicted = label_pairs(matrix)
    precision, recall, f1, support = precision_recall_fscore_support(
        true, predicted, labels=range(len(EMOTIONS)), zero_division=0)
    return [{"emotion": e, "precision": p, "recall": r, "f1": f, "support": int(s)}
            for e, p, r, f, s in zip(EMOTIONS, precision, recall, f1, support)]


def most_confused(matrix: np.ndarray, top: int = 5) -> list[dict]:
    pairs = [(int(matrix[i, j]), i, j) for i in range(len(EMOTIONS)) for j in range(len(EMOTIONS)) if i != j]
    total = max(int(matrix.sum()), 1)
    return [{"true": EMOTIONS[i], "predicted": EMOTIONS[j], "count": c, "share": c / total}
            for c, i, j in sorted(pairs, reverse=True)[:top] if c]


_DATA_CACHE: dict[str, object] = {}


def sample_grid(records: list[dict]) -> bytes | None:
    """The first record's sample predictions, drawn from the data it names (skipped when absent)."""
    record = next((r for r in records if r.get("predictions")), None)
    data = _data_for(record) if record else None
    if data is None:
        return None
    p = record["predictions"]
    rows = p["indices"]
    if not len(rows) == len(p["true"]) == len(p["predicted"]) or any(i >= len(data.pixels) for i in rows):
        print(f"warning: {record['trial_id']}: its sample predictions do not fit the data it names; no sample grid",
              file=sys.stderr)
        return None
    return figures.sample_grid(data.pixels[rows], p["true"], p["predicted"])


def audit_sections(records: list[dict], store: FigureStore) -> list[dict]:
    """Per data set: the audit's counts from the records, and examples drawn from the data itself."""
    sections = {}
    for record in records:
        data_info = record.get("data", {})
        if "audit" not in data_info or data_info["fingerprint"] in sections:
            continue
        section = {"fingerprint": data_info["fingerprint"], "path": data_info["path"],
                   "source": data_info["source"], "summary": data_info["audit"], "figures": []}
        sections[data_info["fingerprint"]] = section
        data = _data_for(record)
        if data is None:
            continue
        from fer_bench.data.audit import conflicts, load_audit

        audit = load_audit(data)
        across = [(int(i), int(j)) for i, j, _ in audit["pairs"] if data.usage[int(i)] != data.usage[int(j)]][:8]
        if across:
            section["figures"].append((f"Copies across splits: {len(across)} of the pairs, side by side",
                                       store.add("audit-pairs", figures.pairs_grid(data, across))))
        conflicting = [_differently_labelled(data, g["rows"]) for g in conflicts(audit, data)][:8]
        if conflicting:
            section["figures"].append((f"Copies with conflicting labels: {len(conflicting)} examples",
                                       store.add("audit-conflicts", figures.pairs_grid(data, conflicting))))
    return list(sections.values())


def _differently_labelled(data, rows: list[int]) -> tuple[int, int]:
    """Two rows of a conflicting group that carry different emotions."""
    first = rows[0]
    return first, next(r for r in rows[1:] if data.labels[r] != data.labels[first])


def _data_for(record: dict):
    from fer_bench.data.source import load_data

    path = record["data"]["path"]
    try:
        data = _DATA_CACHE.get(path) or load_data(Path(path))
    except UserError:
        print(f"warning: {path}: data not found; figures drawn from it are left out", file=sys.stderr)
        return None
    _DATA_CACHE[path] = data
    if data.fingerprint != record["data"]["fingerprint"]:
        print(f"warning: {path}: data changed since the run; figures drawn from it are left out", file=sys.stderr)
        return None
    return data


def environment_rows(records: list[dict]) -> list[dict]:
    seen = {}
    for r in records:
        env = r.get("environment", {})
        key = (env.get("backend"), env.get("backend_version"), (env.get("device") or {}).get("name"),
               (env.get("versions") or {}).get("keras"), env.get("data_fingerprint"), r["spec"])
        seen.setdefault(key, 0)
        seen[key] += 1
    return [{"backend": k[0], "backend_version": k[1], "device": k[2], "keras": k[3], "data": k[4], "spec": k[5],
             "trials": n} for k, n in sorted(seen.items(), key=lambda kv: tuple(map(str, kv[0])))]


def backend_rows(complete: pd.DataFrame) -> list[dict]:
    """Speed and accuracy per variant and backend, when one spec ran on several backends."""
    if complete["backend"].nunique() < 2:
        return []
    rows = []
    for variant, runs in variant_groups(complete):
        for (backend, device), group in runs.groupby(["backend", "device"], sort=True):
            rows.append({"variant": variant, "backend": backend, "device": device, "n": len(group),
                         "images_per_s": group["train_images_per_s"].mean(),
                         "seconds_per_epoch": group["seconds_per_epoch"].mean(),
                         "val_accuracy": group["val_accuracy"].mean()})
    return rows


def mixed_environment_warnings(trials: pd.DataFrame) -> list[str]:
    warnings = []
    for column, what in (("backend", "backends"), ("device", "devices"), ("data_fingerprint", "data sets")):
        values = sorted(trials[column].dropna().astype(str).unique())
        if len(values) > 1:
            warnings.append(f"this comparison mixes {what}: {', '.join(values)}")
    return warnings
