"""Records -> DataFrame, statistics, figures and the rendered report."""

from fer_bench.report.frames import load_records

__all__ = ["load_records"]
