"""fer-bench: declarative, repeatable FER-2013 benchmarks of a published CNN study, and beyond."""

__version__ = "0.1.0"


def load_records(*paths):
    """One pandas row per trial record under the given results directories (imports pandas lazily)."""
    from fer_bench.report.frames import load_records as load

    return load(*paths)
