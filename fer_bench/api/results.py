"""`fer_bench.report` and `fer_bench.compare`: `fer-bench report` and `fer-bench compare` from Python.
`report` is the report package's (fer_bench/report/__init__.py says why)."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from fer_bench.report import report

if TYPE_CHECKING:
    import pandas

__all__ = ["compare", "report"]

PathLike = str | os.PathLike


def compare(base: PathLike, candidate: PathLike, *, metric: str = "accuracy", threshold: float = 0.0,
            speed: bool = False, output: PathLike | None = None) -> pandas.DataFrame:
    """What moved beyond noise between two result sets (folders or exported tables), as `fer-bench
    compare` finds it: one row per spec, variant and metric with both means, the change, the test, its
    p-value (Holm-corrected over the spec's variants) and the verdict; `gate` marks a score worse
    beyond noise by at least `threshold` (points, 0-100), which makes the CLI exit 5. `metric`: what is
    compared, per split: accuracy, balanced_accuracy, macro_f1, nll, brier, ece or ece_scaled (the last
    four: lower is better), as `--metric`. `output`: also the comparison page (.html or .md)."""
    import pandas as pd

    from fer_bench.errors import UserError
    from fer_bench.report.compare import compare as compare_sides
    from fer_bench.report.compare import load_side, write_page

    if not 0 <= threshold <= 100:
        raise UserError(f"compare: threshold: expected 0 to 100 points, got {threshold!r}")
    base, candidate = Path(base), Path(candidate)
    rows = compare_sides(load_side(base), load_side(candidate), threshold / 100, speed, metric)
    if output is not None:
        write_page(rows, Path(output), base, candidate, threshold / 100)
    return pd.DataFrame([{**asdict(row), "change": row.change} for row in rows])
