"""`fer-bench clean RESULTS`: the records that no current spec would make (edited or removed
variants, changed defaults), listed, and removed with --yes.

A record's spec is the one given on the command line with its name, else the file the record
names, else the shipped spec of that name. A record whose spec is found nowhere is listed as an
orphan and removed only with --orphans. Records of `fer-bench evaluate` are kept: no spec makes them.
"""

import shutil
from pathlib import Path

from fer_bench.errors import UserError
from fer_bench.records import PLAN, iter_records
from fer_bench.spec.load import find_spec_file, load_spec
from fer_bench.spec.schema import LoadedSpec
from fer_bench.spec.trials import Overrides, expand, recorded_search_trials
from fer_bench.storage import inside, write_json_atomic


def find_stale(root: Path, spec_paths: list[str]) -> list[dict]:
    """One entry per stale or orphan record: folder, spec, trial id, reason, orphan flag, bytes."""
    if not root.is_dir():
        raise UserError(f"{root}: no such results directory")
    given = {}
    for path in spec_paths:
        loaded = load_spec(Path(path))
        given[loaded.spec.name] = loaded
    found = []
    cache: dict[str, LoadedSpec | None] = {}
    for path, record in iter_records(root):
        if record.get("config", {}).get("model", {}).get("builder") == "saved":
            continue
        loaded = given.get(record["spec"]) or _spec_of(record, cache)
        if loaded is None:
            reason, orphan = "its spec is found nowhere (pass it as --spec FILE)", True
        else:
            reason, orphan = _why_stale(loaded, record), False
        if reason:
            folder = path.parent
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            found.append({"folder": folder, "spec": record["spec"], "trial_id": record["trial_id"], "reason": reason,
                          "orphan": orphan, "bytes": size})
    return found


def _spec_of(record: dict, cache: dict) -> LoadedSpec | None:
    key = f"{record['spec']}|{record.get('spec_file')}"
    if key not in cache:
        cache[key] = None
        for candidate in (record.get("spec_file"), record["spec"]):
            path = find_spec_file(candidate) if candidate else None
            if path is not None and path.is_file():
                try:
                    loaded = load_spec(path)
                except UserError:
                    continue
                if loaded.spec.name == record["spec"]:
                    cache[key] = loaded
                    break
    return cache[key]


def _why_stale(loaded: LoadedSpec, record: dict) -> str:
    known = {k: v for k, v in (record.get("overrides") or {}).items() if k in Overrides.__dataclass_fields__}
    overrides = Overrides(**known)
    fingerprint = record["data"]["fingerprint"]
    search = record.get("search")
    if search is None:
        if loaded.spec.search is not None:
            return f"{loaded.path} is now a search"
        ids = {t.trial_id(fingerprint) for t in expand(loaded, overrides)}
        return "" if record["trial_id"] in ids else f"{loaded.path} no longer makes this trial"
    if loaded.spec.search is None:
        return f"{loaded.path} is no longer a search"
    if search["strategy"] not in loaded.spec.search.strategies:
        return f"{loaded.path} no longer runs the {search['strategy']} strategy"
    if set(record["params"]) != set(loaded.spec.search.space):
        return f"{loaded.path} searches other keys now"
    try:
        trials = recorded_search_trials(loaded, overrides, search, record["params"])
    except UserError:
        return f"{loaded.path} refuses this trial's values now"
    ids = {t.trial_id(fingerprint) for t in trials}
    return "" if record["trial_id"] in ids else f"{loaded.path} no longer makes this trial"


def remove(root: Path, stale: list[dict], orphans: bool) -> int:
    removed: dict[str, set[str]] = {}
    for entry in stale:
        if entry["orphan"] and not orphans:
            continue
        shutil.rmtree(inside(root, entry["folder"].relative_to(root)))
        removed.setdefault(entry["spec"], set()).add(entry["trial_id"])
    for spec, ids in removed.items():
        _prune_plan(inside(root, Path(spec)) / PLAN, ids)
    return sum(len(ids) for ids in removed.values())


def _prune_plan(path: Path, ids: set[str]) -> None:
    import json

    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    trials = plan.get("trials") if isinstance(plan, dict) else None
    if isinstance(trials, dict):
        plan["trials"] = {k: v for k, v in trials.items() if k not in ids}
        write_json_atomic(path, plan)
