"""fer-bench: declarative, repeatable FER-2013 benchmarks of a published CNN study, and beyond.

The package, one folder per concept:

    cli/           the command line: one module per verb (its flags and what it does)
    api/           the same verbs from Python (run, plan, report, compare), returning data
    distributed/   one run spread over machines: the chief serves work, workers train it (gRPC)
    scheduling/    many trials over one results folder: planning, the queue, claims, the local run
    training/      one trial in this process: backend start-up, build, fit, score, record
    report/        records -> tables, statistics, figures, HTML/Markdown, compare, exports
    search/        search strategies over Keras Tuner's oracles, and how a search stands
    spec/          YAML specs: loading, the schema, search spaces, trial expansion and ids
    data/          FER-2013 sources, cache, splits, the audit of copies, leakage-free scores
    models/        model builders by name (the study's CNN, a VGG), and plug-ins
    records.py     the record layout on disk: reading, status, plan.json
    storage.py     cache folder, atomic JSON writes, paths kept inside the results folder
    progress.py, faults.py, errors.py   progress lines with an ETA, fault injection, errors and exit codes

Imports run one way, down this list: cli | api -> distributed -> scheduling -> training | report -> search
-> spec | data -> models -> records -> storage, progress, faults, errors. training and report never
import each other, nor spec and data; models import nothing of fer-bench outside models/.
tests/test_layering.py keeps this true.

The public Python surface is what `__all__` names; everything else may move.
"""

from fer_bench._version import __version__
from fer_bench.errors import FerBenchError, UserError, WriteError

__all__ = ["__version__", "Builder", "ModelCost", "FerBenchError", "UserError", "WriteError", "load_records",
           "builders", "run", "plan", "report", "compare"]
API = ("run", "plan", "report", "compare")  # fer_bench/api: the CLI's verbs as functions


def load_records(*paths):
    """One pandas row per trial record under the given results directories (imports pandas lazily)."""
    from fer_bench.report.frames import load_records as load

    return load(*paths)


def __getattr__(name: str):
    if name in ("Builder", "ModelCost"):  # lazily: `import fer_bench` stays free of pydantic and Keras
        from fer_bench.models import base

        return getattr(base, name)
    if name in API:
        import fer_bench.api

        return getattr(fer_bench.api, name)
    raise AttributeError(f"module 'fer_bench' has no attribute {name!r}")


def builders() -> dict:
    """Every model builder by name: fer-bench's own and those installed packages register."""
    from fer_bench.models import BUILDERS

    return dict(BUILDERS.items())
