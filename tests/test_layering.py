"""The package's import direction (fer_bench/__init__.py): every import, at the top or inside a function,
goes to the importer's own folder or to a layer below it."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fer_bench"
LAYERS = (  # top first; rooms on one line never import each other
    ("cli", "api"),
    ("distributed",),
    ("scheduling",),
    ("trackers",),
    ("training", "report"),
    ("search",),
    ("spec", "data"),
    ("models",),
    ("records",),
    ("storage", "progress", "faults"),
    ("errors", "_version"),
)
RANK = {room: depth for depth, rooms in enumerate(LAYERS) for room in rooms}
SELF_CONTAINED = {"models": {"models", "errors"}}  # plug-in builders see nothing else of fer-bench


def room_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "fer_bench" and len(parts) > 1 else None


def imports_of(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if room_of(node.module) else [f"{node.module}.{a.name}" for a in node.names]
            yield from ((node.lineno, n) for n in names)
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)


def package_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if len(relative.parts) == 1 and relative.stem in ("__init__", "__main__"):
            continue  # the package root: the public surface, above every room
        yield path, relative.parts[0].removesuffix(".py")


def violations() -> list[str]:
    found = []
    for path, room in package_modules():
        assert room in RANK, f"{path}: folder {room!r} is in no layer of tests/test_layering.py"
        for line, module in imports_of(path):
            target = room_of(module)
            if module.startswith("fer_bench") and target is None:
                found.append(f"{path.relative_to(PACKAGE)}:{line}: imports the package root {module}")
            if target is None or target == room:
                continue
            allowed = SELF_CONTAINED.get(room)
            if RANK[target] <= RANK[room] or (allowed is not None and target not in allowed):
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {room} imports {module} ({target})")
    return found


def test_imports_run_one_way():
    assert violations() == []


def test_every_folder_says_what_it_owns():
    for folder in sorted(p for p in PACKAGE.iterdir() if any(p.glob("*.py"))):
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
        assert doc, f"{folder.name}/__init__.py needs a docstring saying what the folder owns"


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    upward = tmp_path / "fer_bench" / "data" / "bad.py"
    upward.parent.mkdir(parents=True)
    upward.write_text("def f():\n    from fer_bench.training.trial import run_trial\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "fer_bench")
    assert violations() == ["data/bad.py:2: data imports fer_bench.training.trial (training)"]


def test_every_function_of_a_trial_stays_under_60_lines():
    """One trial read as its phases (#27): a function of fer_bench/training/ that grows past 60 lines is
    doing two phases' work."""
    long = [f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in sorted((PACKAGE / "training").glob("*.py"))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 >= 60]
    assert not long, long
