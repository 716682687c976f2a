"""Records -> DataFrame, statistics, figures and the rendered report.

`fer_bench.report(results, path)`, the API's verb, is this package called: a submodule is an attribute
of its parent package, so a function of that name in `fer_bench` would be replaced by the package on
its first import. The package calls `report` below instead.
"""

import os
import sys
import types
from pathlib import Path

__all__ = ["load_records", "report"]


def load_records(*paths):
    """One pandas row per trial record under the given results directories (frames.load_records; imported
    when called, so that the light modules here, labels.py, import no pandas)."""
    from fer_bench.report.frames import load_records as load

    return load(*paths)


def report(results: str | os.PathLike | list, path: str | os.PathLike = "report.html", *,
           export: str | os.PathLike | None = None, metric: str = "accuracy") -> Path:
    """Render every record under `results` (one folder or several, merged) into `path`, an HTML or
    Markdown report (by its suffix), as `fer-bench report` does; the written path. `export`: also the
    trials table as .csv or .parquet. `metric`: what the verdicts and each spec's best variant go by
    (`"accuracy"`, `"balanced_accuracy"`, `"macro_f1"`, `"nll"`, `"brier"`, `"ece"`, `"ece_scaled"`). The
    HTML report carries its figures: in a notebook, show it with `IPython.display.HTML` in an iframe's
    `srcdoc` (docs/notebook.ipynb)."""
    from fer_bench.report.render import render_report

    folders = [os.fspath(r) for r in (results if isinstance(results, (list, tuple)) else [results])]
    written = render_report(folders, Path(path), metric)
    if export is not None:
        from fer_bench.report.export import export_trials

        export_trials(folders, Path(export))
    return written


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs) -> Path:
        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
