"""The package version, readable without importing anything else of fer-bench."""

__version__ = "0.1.0"
