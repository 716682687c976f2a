"""Searches: Keras Tuner's oracles propose, fer-bench trains and records (see strategies.py)."""
