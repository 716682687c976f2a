"""fer-bench: declarative, repeatable FER-2013 benchmarks of a published CNN study, and beyond."""

__version__ = "0.1.0"
