"""Safe YAML reading with what a spec needs beyond PyYAML's safe loader: YAML 1.2 floats, no duplicate
keys, and bounds on what a few lines can make: nesting depth (PyYAML composes recursively, so a deep
document is a RecursionError) and the values aliases expand to (the "billion laughs": nine lines whose
aliases make 9**9 values, which anything walking the spec would then visit one by one)."""

import re
from collections.abc import Hashable
from pathlib import Path

import yaml

from fer_bench.errors import UserError

# PyYAML follows YAML 1.1, where `5e-4` (no dot, signed exponent) is a string. Users write it.
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


MAX_DEPTH = 50
MAX_VALUES = 100_000
MAX_SPEC_BYTES = 2**20  # a spec is a page of YAML; this reads a device or a huge file no further


class _SpecLoader(yaml.SafeLoader):
    depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_document(self, node):
        _count_values(node, {}, set())
        return super().construct_document(node)

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key must be a plain value, not a {type(key).__name__}", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {seen[key] + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def _count_values(node, counted: dict, open_nodes: set) -> int:
    """The values `node` stands for once its aliases are expanded (each shared node counted once per
    use, without expanding it); an alias inside itself and an expansion past MAX_VALUES are errors."""
    if id(node) in open_nodes:
        raise yaml.composer.ComposerError(None, None, "an alias refers to a value that contains it",
                                          node.start_mark)
    if id(node) not in counted:
        open_nodes.add(id(node))
        children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else \
            node.value if isinstance(node, yaml.SequenceNode) else []
        counted[id(node)] = 1 + sum(_count_values(child, counted, open_nodes) for child in children)
        open_nodes.discard(id(node))
        if counted[id(node)] > MAX_VALUES:
            raise yaml.composer.ComposerError(
                None, None, f"its aliases expand to over {MAX_VALUES:,} values", node.start_mark)
    return counted[id(node)]


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def load_yaml(path: Path):
    """The document in `path`, as plain Python data; any YAML problem is a UserError."""
    return parse_yaml(read_spec_text(path), path)


def read_spec_text(path: Path) -> str:
    """A spec file's text, at most MAX_SPEC_BYTES of UTF-8; anything else is a UserError."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_SPEC_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, expected a YAML spec file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
    if len(data) > MAX_SPEC_BYTES:
        raise UserError(f"{path}: more than {MAX_SPEC_BYTES:,} bytes; a spec is at most 1 MiB of YAML")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def parse_yaml(text: str, where: Path | str = "<text>"):
    """YAML text (a spec as a record keeps it, say) as plain Python data; a problem is a UserError."""
    path = where
    try:
        return yaml.load(text, Loader=_SpecLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in problem:
            tag = re.search(r"'([^']*)'", problem)
            name = (tag.group(1) if tag else "").replace("tag:yaml.org,2002:", "!!")
            problem = f"tag {name} is not allowed (plain YAML only)"
        raise UserError(f"{path}: {where}{' '.join(problem.split())}") from None
    except yaml.reader.ReaderError as exc:  # PyYAML names only an offset into "<unicode string>"
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise UserError(f"{path}: line {line}, column {column}: character {exc.character:#06x} is not "
                        "allowed in YAML (not a printable character)") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
