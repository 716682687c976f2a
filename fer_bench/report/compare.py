"""`fer-bench compare BASE CANDIDATE`: per spec and variant, what moved beyond noise; a CI gate.

Each side is a results directory or a table that `fer-bench report --export` wrote. Rows match by
spec and variant; a side with one variant of a spec matches the other side's single variant of
that spec, so two runs of one spec under different settings compare too.
"""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fer_bench.errors import UserError
from fer_bench.report.labels import LOWER_IS_BETTER, in_points, metric_rows
from fer_bench.report.order import variant_order
from fer_bench.report.pairs import CORRECTION, CORRECTION_NAMES
from fer_bench.report.stats import ALPHA, two_samples

SPEED = (("train_images_per_s", "images/s"),)


EXIT_REGRESSION = 5


@dataclass
class Row:
    spec: str
    variant: str
    metric: str
    label: str
    base: float | None
    candidate: float | None
    n_base: int
    n_candidate: int
    test: str
    p_value: float | None  # corrected over the spec's variants on this metric (Holm): what the verdict uses
    verdict: str  # better | worse | within noise | no test | only in base | only in candidate
    gate: bool  # an accuracy that got worse beyond noise and by at least the threshold
    p_raw: float | None = None  # the variant's own test, before the correction
    gated: bool = False  # a score, which the gate watches (not a speed)
    lower_is_better: bool = False  # a calibration error or a loss

    @property
    def change(self) -> float | None:
        return None if self.base is None or self.candidate is None else self.candidate - self.base


def load_side(path: Path) -> pd.DataFrame:
    from fer_bench.report.frames import report_records, trials_frame

    if path.is_dir():
        frame = trials_frame(report_records([path]))
    elif path.suffix == ".csv" and path.is_file():
        frame = pd.read_csv(path)
    elif path.suffix == ".parquet" and path.is_file():
        try:
            frame = pd.read_parquet(path)
        except ImportError:
            raise UserError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    else:
        raise UserError(f"{path}: give a results directory or a table from `fer-bench report --export` "
                        "(.csv or .parquet)")
    missing = {"spec", "variant", "seed", "status"} - set(frame.columns)
    if missing:
        raise UserError(f"{path}: not a fer-bench trials table (no column {sorted(missing)[0]!r})")
    done = frame[frame["status"] == "complete"]
    if done.empty:
        raise UserError(f"{path}: no complete trials to compare")
    return done


def compare(base: pd.DataFrame, candidate: pd.DataFrame, threshold: float, speed: bool,
            score: str = "accuracy") -> list[Row]:
    """`score`: what is compared and gated (SCORES); `threshold` in its own units (accuracy: a fraction)."""
    rows = []
    metrics = metric_rows(score) + (SPEED if speed else ())
    for frame in (base, candidate):  # a table exported before a score existed lacks its column
        for metric, _ in metrics:
            if metric not in frame:
                frame[metric] = float("nan")
    for spec in sorted(set(base["spec"]) | set(candidate["spec"])):
        a, b = base[base["spec"] == spec], candidate[candidate["spec"] == spec]
        for variant_a, variant_b in _pairs(a, b):
            for metric, label in metrics:
                sa = a[a["variant"] == variant_a].set_index("seed")[metric].dropna() if variant_a else None
                sb = b[b["variant"] == variant_b].set_index("seed")[metric].dropna() if variant_b else None
                name = variant_a if variant_a == variant_b or not variant_b else (
                    variant_b if not variant_a else f"{variant_a} -> {variant_b}")
                rows.append(_row(spec, name, metric, label, sa, sb, threshold, metric != SPEED[0][0],
                                 score in LOWER_IS_BETTER and metric != SPEED[0][0]))
    return _corrected(rows, threshold)


def _corrected(rows: list[Row], threshold: float) -> list[Row]:
    """Each spec's variants tested on one metric are a family: their p-values are corrected together (Holm),
    so that a gate over many variants does not fail on one chance finding; verdicts follow the corrected."""
    from statsmodels.stats.multitest import multipletests

    families: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        if row.p_raw is not None:
            families.setdefault((row.spec, row.metric), []).append(row)
    for family in families.values():
        adjusted = multipletests([r.p_raw for r in family], alpha=ALPHA, method=CORRECTION)[1]
        for row, p in zip(family, adjusted):
            row.p_value = float(p)
            _judge(row, threshold)
    return rows


def _pairs(a: pd.DataFrame, b: pd.DataFrame) -> list[tuple[str | None, str | None]]:
    """(base variant, candidate variant) of one spec, in the spec's order; None where a side lacks it."""
    in_a, in_b = variant_order(a), variant_order(b)
    if len(in_a) == 1 and len(in_b) == 1:
        return [(in_a[0], in_b[0])]
    return [(v if v in in_a else None, v if v in in_b else None) for v in variant_order(pd.concat([a, b]))]


def _row(spec, variant, metric, label, a, b, threshold: float, gated: bool, lower_is_better: bool) -> Row:
    if a is None or b is None or a.empty or b.empty:
        side = "only in base" if b is None or b.empty else "only in candidate"
        present = a if b is None or b.empty else b
        value = float(present.mean()) if present is not None and not present.empty else None
        return Row(spec, variant, metric, label, value if side == "only in base" else None,
                   value if side == "only in candidate" else None, 0 if a is None else len(a),
                   0 if b is None else len(b), "none", None, side, False)
    test, _, p = two_samples(b, a)
    row = Row(spec, variant, metric, label, float(a.mean()), float(b.mean()), len(a), len(b), test, p, "no test",
              False, p_raw=p, gated=gated, lower_is_better=lower_is_better)
    return _judge(row, threshold)


def _judge(row: Row, threshold: float) -> Row:
    """The verdict by the row's (corrected) p-value, and whether it trips the gate."""
    p = row.p_value
    gain = -row.change if row.lower_is_better else row.change  # > 0: the candidate is better
    if p is not None and p < ALPHA:
        row.verdict = "better" if gain > 0 else "worse"
    else:
        row.verdict = "no test" if p is None else "within noise"
    worse = row.verdict == "worse" or (row.verdict == "no test" and threshold > 0 and gain < 0)
    row.gate = row.gated and worse and -gain >= threshold
    return row


def print_rows(rows: list[Row], base: Path, candidate: Path, threshold: float, score: str = "accuracy") -> None:
    lower = " (lower is better)" if score in LOWER_IS_BETTER else ""
    print(f"{score}{lower}: base {base}, candidate {candidate}; change = candidate - base; beyond noise: p < {ALPHA}, "
          f"{CORRECTION_NAMES[CORRECTION]}-corrected over each spec's variants per metric"
          + (f"; the gate needs a drop of at least {threshold * 100:g} points" if threshold else ""))
    print(f"  {'spec':<14}{'variant':<34}{'metric':<12}{'base':>10}{'candidate':>11}{'change':>9}  {'test':<26}"
          f"{'p':>7}  verdict")
    for r in rows:
        scale = 100 if in_points(r.metric) else 1
        values = [f"{v * scale:.2f}" if v is not None else "-" for v in (r.base, r.candidate, r.change)]
        p = f"{r.p_value:.3g}" if r.p_value is not None else "-"
        flag = "  << regression" if r.gate else ""
        print(f"  {r.spec:<14}{r.variant[:33]:<34}{r.label:<12}{values[0]:>10}{values[1]:>11}{values[2]:>9}  "
              f"{r.test:<26}{p:>7}  {r.verdict}{flag}")


def write_page(rows: list[Row], output: Path, base: Path, candidate: Path, threshold: float) -> Path:
    import jinja2

    from fer_bench.report.render import template_dir

    suffix = output.suffix.lower()
    if suffix not in (".html", ".md"):
        raise UserError(f"{output}: the comparison must end in .html or .md")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir())),
                             autoescape=jinja2.select_autoescape(["html.j2"], default_for_string=False),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["val"] = lambda v, metric: "-" if v is None else (
        f"{100 * v:.2f}" if in_points(metric) else f"{v:.1f}" if metric == "train_images_per_s" else f"{v:.4f}")
    page = env.get_template(f"compare{suffix}.j2").render(
        rows=rows, base=str(base), candidate=str(candidate), alpha=ALPHA, threshold=threshold,
        regressions=sum(r.gate for r in rows))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    return output
