"""One JSON record per trial run, written atomically; the single source of truth for results.

Layout: DIR/<spec name>/<trial id>/record.json (plus error.log for failed or diverged trials),
and DIR/<spec name>/plan.json listing every trial a run of the spec asked for.
"""

import functools
import json
import sys
from importlib import resources
from pathlib import Path

from fer_bench.errors import UserError
from fer_bench.faults import fault_point
from fer_bench.storage import check_writable, inside, write_json_atomic

FORMAT_VERSION = 1
RECORD = "record.json"
PLAN = "plan.json"
DONE_STATUSES = ("complete", "diverged", "timeout")  # results: a rerun keeps them (--rerun redoes them)
STATUSES = ("complete", "diverged", "timeout", "failed")
ACCURACY_THRESHOLDS = (0.50, 0.55, 0.60, 0.65)  # validation accuracy a record says when it first reached
# Keys a complete record has had to carry since after format 1 was first written; readers derive them
# (time_to_accuracy from the history) or go without (predictions), so a reader accepts records without.
ADDED_SINCE_FORMAT_1 = ("time_to_accuracy", "predictions")


def check_results_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: is a file; --out needs a directory for results")
    check_writable(out, "--out")
    return out


def trial_dir(out: Path, spec_name: str, trial_id: str) -> Path:
    return inside(out, Path(spec_name) / trial_id)


def read_record(path: Path) -> dict | None:
    """The record at `path`, or None with a warning naming the file when it cannot be used."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"warning: {path}: unreadable record skipped ({exc.__class__.__name__})", file=sys.stderr)
        return None
    if not isinstance(record, dict) or record.get("format_version") != FORMAT_VERSION:
        version = record.get("format_version") if isinstance(record, dict) else None
        print(f"warning: {path}: record format {version!r} is not {FORMAT_VERSION}; skipped", file=sys.stderr)
        return None
    problem = record_problem(record)
    if problem:
        print(f"warning: {path}: not a valid record ({problem}); skipped", file=sys.stderr)
        return None
    return record


def record_problem(record: dict) -> str:
    """What makes `record` unfit to read against the record schema, in a few words; "" when nothing does.
    Every reader (status, report, compare, a rerun's replay) can then trust the fields it uses."""
    import fastjsonschema

    try:
        _reading_validator()(record)
    except fastjsonschema.JsonSchemaValueException as exc:
        message = " ".join(exc.message.replace("data", "record", 1).split())
        return message if len(message) <= 120 else message[:117] + "..."
    return ""


@functools.cache
def _reading_validator():
    """The published schema, less the keys added to complete records after format 1 began; compiled to
    Python by fastjsonschema (0.4 ms a record here, where jsonschema takes 7)."""
    import fastjsonschema

    schema = json.loads(resources.files("fer_bench.schema").joinpath("record.schema.json").read_text("utf-8"))
    for rule in schema["allOf"]:
        rule["then"]["required"] = [key for key in rule["then"]["required"] if key not in ADDED_SINCE_FORMAT_1]
    return fastjsonschema.compile(schema)


def iter_records(root: Path):
    """Every readable record under `root`, in path order."""
    for path in sorted(root.rglob(RECORD)):
        record = read_record(path)
        if record is not None:
            yield path, record


def update_plan(spec_dir: Path, trials: dict[str, dict]) -> None:
    plan_path = spec_dir / PLAN
    plan = _read_plan(plan_path)
    plan.update(trials)
    write_json_atomic(plan_path, {"format_version": FORMAT_VERSION, "trials": plan},
                      before_rename=lambda: fault_point("plan"))


def _read_plan(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data["trials"] if isinstance(data.get("trials"), dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


def status_table(root: Path) -> dict[str, dict[str, list[str]]]:
    """Per spec: trial ids by status, with 'pending' for planned trials that have no record."""
    if not root.is_dir():
        raise UserError(f"{root}: no such results directory")
    table: dict[str, dict[str, list[str]]] = {}
    for spec_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        rows = {s: [] for s in (*STATUSES, "pending")}
        recorded = set()
        for _, record in iter_records(spec_dir):
            rows.setdefault(record.get("status", "failed"), []).append(record["trial_id"])
            recorded.add(record["trial_id"])
        rows["pending"] = sorted(set(_read_plan(spec_dir / PLAN)) - recorded)
        if any(rows.values()):
            table[spec_dir.name] = rows
    return table


def time_to_accuracy(history: list[dict]) -> dict:
    """Per threshold ("0.50", ...): the first epoch whose validation accuracy reached it, and when."""
    reached = {}
    for threshold in ACCURACY_THRESHOLDS:
        hit = next((h for h in history if (h.get("val_accuracy") or 0.0) >= threshold), None)
        reached[f"{threshold:.2f}"] = None if hit is None else {
            "epoch": hit["epoch"], "since_fit_start_s": hit.get("since_fit_start_s"),
            "since_process_start_s": hit.get("since_process_start_s")}
    return reached


def reached_accuracy(record: dict) -> dict | None:
    """The record's time_to_accuracy block; for records older than the block, derived from their history;
    None when neither is there (a saved model scored by `fer-bench evaluate`, say)."""
    if record.get("time_to_accuracy"):
        return record["time_to_accuracy"]
    history = record.get("history") or []
    return time_to_accuracy(history) if any("val_accuracy" in h for h in history) else None
