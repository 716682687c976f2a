"""One JSON record per trial run, written atomically; the single source of truth for results.

Layout: DIR/<spec name>/<trial id>/record.json (plus error.log for failed or diverged trials),
and DIR/<spec name>/plan.json listing every trial a run of the spec asked for.
"""

import json
import os
import sys
from pathlib import Path

from fer_bench.claims import pid_alive
from fer_bench.errors import UserError, WriteError
from fer_bench.faults import fault_point

FORMAT_VERSION = 1
RECORD = "record.json"
PLAN = "plan.json"
DONE_STATUSES = ("complete", "diverged", "timeout")  # results: a rerun keeps them (--rerun redoes them)
STATUSES = ("complete", "diverged", "timeout", "failed")


def write_json_atomic(target: Path, payload: dict, before_rename=None) -> None:
    """Write to a temp file beside `target`, fsync, then rename: readers see all or nothing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=1, sort_keys=False, allow_nan=False, default=_plain)
            handle.flush()
            os.fsync(handle.fileno())
        if before_rename:
            before_rename()
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WriteError(f"{target}: cannot write ({exc.strerror}); records written before are intact") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a record")


def check_results_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: is a file; --out needs a directory for results")
    return out


def trial_dir(out: Path, spec_name: str, trial_id: str) -> Path:
    return inside(out, Path(spec_name) / trial_id)


def inside(out: Path, relative: Path) -> Path:
    """out/relative, refused when it resolves (through a symlink, say) outside the results directory."""
    path = (out / relative).resolve()
    if out.resolve() not in path.parents:
        raise UserError(f"{out / relative}: resolves to {path}, outside the results directory {out}; refusing to write")
    return path


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
    return record


def iter_records(root: Path):
    """Every readable record under `root`, in path order."""
    for path in sorted(root.rglob(RECORD)):
        record = read_record(path)
        if record is not None:
            yield path, record


def remove_stale_temp_files(spec_dir: Path) -> None:
    """Temp files left by killed processes (never complete, never read); a live writer's stay."""
    if spec_dir.is_dir():
        for tmp in spec_dir.rglob(".*.tmp"):
            pid = tmp.name.rsplit(".", 2)[-2]
            if not (pid.isdigit() and pid_alive(int(pid))):
                tmp.unlink(missing_ok=True)


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
