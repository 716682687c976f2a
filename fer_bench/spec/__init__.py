"""Specs: YAML loading, the schema, search spaces, trial expansion and ids."""
