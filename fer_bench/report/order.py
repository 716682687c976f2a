"""Variants in the order their spec gives them, in every table and figure.

A sweep's variants come as the spec expands them: variant by variant as listed, and within each the
grid points, keys and values in the order given. A search's come in trial-number order. Where the spec cannot say
(no spec text, unreadable, edited since the run), labels sort naturally: numbers as numbers, so
`batch_size-32` comes before `batch_size-128`.
"""

import functools
import itertools
import re

import pandas as pd

from fer_bench.errors import UserError
from fer_bench.spec.trials import slugify, value_label
from fer_bench.spec.yaml_loader import parse_yaml  # as the run read it: `5e-4` a float, as in its labels

_NUMBER = re.compile(r"(\d+(?:\.\d+)?(?:e[-+]?\d+)?)")


def natural_key(label: str) -> tuple:
    """Text pieces compare as text and number pieces as numbers (splitting keeps them alternating)."""
    return tuple(float(piece) if i % 2 else piece for i, piece in enumerate(_NUMBER.split(str(label))))


def variant_positions(records: list[dict]) -> dict[tuple[str, str], int]:
    """(spec, variant) -> its place in the spec's order; absent where the spec cannot say."""
    positions = {}
    for record in records:
        key = (record["spec"], record.get("variant"))
        position = _position(record)
        if position is not None:
            positions[key] = min(position, positions.get(key, position))
    return positions


def _position(record: dict) -> int | None:
    search = record.get("search")
    if search:
        return search.get("trial_number")
    return _sweep_positions(record.get("spec_content") or "").get(record.get("variant"))


@functools.lru_cache(maxsize=64)
def _sweep_positions(spec_text: str) -> dict[str, int]:
    """Each variant label the spec makes -> its place in the spec's expansion (empty when unreadable)."""
    try:
        spec = parse_yaml(spec_text)
    except UserError:
        return {}
    sweep = (spec.get("sweep") or {}) if isinstance(spec, dict) else None
    if not _readable(sweep):
        return {}
    grid = sweep.get("grid") or {}
    names = [variant["name"] for variant in sweep.get("variants") or []] or [None]
    labels = []
    for name, values in itertools.product(names, itertools.product(*grid.values())):
        parts = [name] if name is not None else []
        parts += [f"{key.rsplit('.', 1)[-1]}-{value_label(value)}" for key, value in zip(grid, values)]
        labels.append(slugify("_".join(map(str, parts)) or "base"))
    return {label: index for index, label in enumerate(labels)}


def _readable(sweep) -> bool:
    if not isinstance(sweep, dict):
        return False
    grid, variants = sweep.get("grid") or {}, sweep.get("variants") or []
    return (isinstance(grid, dict) and all(isinstance(k, str) and isinstance(v, list) for k, v in grid.items())
            and isinstance(variants, list) and all(isinstance(v, dict) and "name" in v for v in variants))


def order_key(variant: str, position) -> tuple:
    """Variants the spec places first, by place; the others after them, in natural order."""
    if position is None or pd.isna(position):
        return (1, 0, natural_key(variant))
    return (0, position, natural_key(variant))


def variant_order(frame: pd.DataFrame) -> list[str]:
    """The variants of one spec's rows in the spec's order (a `variant_position` column places them)."""
    variants = frame["variant"].dropna().unique()
    positions = frame.groupby("variant")["variant_position"].min() if "variant_position" in frame else {}
    return sorted(variants, key=lambda v: order_key(v, positions.get(v)))


def variant_groups(frame: pd.DataFrame):
    """(variant, its rows) for one spec's rows, in the spec's order."""
    for variant in variant_order(frame):
        yield variant, frame[frame["variant"] == variant]


def sort_rows(rows: list[dict], order: list[str]) -> list[dict]:
    """Table rows (dicts with a variant, maybe a seed) in the given variant order, seeds ascending."""
    place = {variant: index for index, variant in enumerate(order)}
    return sorted(rows, key=lambda row: (place.get(row["variant"], len(place)), row.get("seed") or 0))
