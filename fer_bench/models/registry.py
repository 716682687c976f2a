"""Builders by name: fer-bench's own, and those that installed packages register as entry points.

A package adds a model with an entry point in the group `fer_bench.models` that names a
`fer_bench.models.Builder` (or a function returning one):

    [project.entry-points."fer_bench.models"]
    my_net = "my_package.fer:BUILDER"

Only installed packages are loaded, when a builder is first looked up; a spec names a builder and
never brings code of its own.
"""

import contextlib
import sys
from collections.abc import Iterator, Mapping
from importlib.metadata import entry_points

from fer_bench.errors import UserError
from fer_bench.models.base import Builder

GROUP = "fer_bench.models"


class Registry(Mapping):
    def __init__(self, builtin: list[Builder]):
        self._builders = {b.name: b for b in builtin}
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for point in entry_points(group=GROUP):
            where = f"entry point {point.name} = {point.value}"
            if point.name in self._builders:
                print(f"warning: {where}: a builder named {point.name!r} exists already; keeping the first",
                      file=sys.stderr)
                continue
            try:
                builder = point.load()
                builder = builder() if callable(builder) and not isinstance(builder, Builder) else builder
            except Exception as exc:  # a broken plug-in must not take fer-bench down with it
                print(f"warning: {where}: cannot load it ({exc.__class__.__name__}: {exc}); skipped",
                      file=sys.stderr)
                continue
            if not isinstance(builder, Builder) or builder.name != point.name:
                print(f"warning: {where}: expected a fer_bench.models.Builder named {point.name!r}; skipped",
                      file=sys.stderr)
                continue
            self._builders[point.name] = builder

    @contextlib.contextmanager
    def registered(self, builders: list[Builder], what: str):
        """`builders` known by name inside the block only (models/sources.py); `what` names where they came
        from in the error for a name that is taken."""
        self._load()
        names = [b.name for b in builders]
        for builder in builders:
            if names.count(builder.name) > 1:
                raise UserError(f"{what}: two builders named {builder.name!r}; give each its own name")
            if builder.name in self._builders:
                raise UserError(f"{what}: {builder.name!r} exists already (fer-bench's own builder or an installed "
                                f"plug-in: {', '.join(sorted(self._builders))}); give yours another name")
        self._builders.update({b.name: b for b in builders})
        try:
            yield
        finally:
            for builder in builders:
                self._builders.pop(builder.name, None)

    def __getitem__(self, name: str) -> Builder:
        self._load()
        return self._builders[name]

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(self._builders)

    def __len__(self) -> int:
        self._load()
        return len(self._builders)
