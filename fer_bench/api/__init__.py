"""fer-bench from Python: what the CLI's verbs do, as functions that return data and raise instead of
exiting. Each goes through the same code as its verb; see docs/api.md."""

from fer_bench.api.results import compare, report
from fer_bench.api.runs import plan, run

__all__ = ["compare", "plan", "report", "run"]
