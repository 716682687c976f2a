"""Files on disk: the cache folder, atomic JSON writes, paths kept inside the results folder, and
the temp files of writers that died (known by their process id)."""

import json
import os
from pathlib import Path

from fer_bench.errors import UserError, WriteError


def cache_dir() -> Path:
    if os.environ.get("FER_BENCH_CACHE"):
        return Path(os.environ["FER_BENCH_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fer-bench"


def check_writable(folder: Path, flag: str) -> None:
    """Fail now, in one line, where files cannot be written into `folder` (a file on its path, /proc, a
    read-only disk), not after the work meant to fill it. It creates no folder (two runs may be making
    the same one): it writes and removes one file in the nearest folder that exists."""
    existing = next(path for path in (folder, *folder.parents) if path.exists() or path == path.parent)
    if not existing.is_dir():
        raise UserError(f"{folder}: {existing} is a file, not a folder; {flag} needs a path it can write")
    probe = existing / f".fer-bench-probe.{os.getpid()}"
    try:
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise WriteError(f"{folder}: cannot write there ({exc.strerror or exc}); {flag} needs a path it can "
                         f"write") from None


def write_json_atomic(target: Path, payload: dict, before_rename=None) -> None:
    """Write to a temp file beside `target`, fsync, then rename: readers see all or nothing."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
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


def inside(out: Path, relative: Path) -> Path:
    """out/relative, refused when it resolves (through a symlink, say) outside the results directory."""
    path = (out / relative).resolve()
    if out.resolve() not in path.parents:
        raise UserError(f"{out / relative}: resolves to {path}, outside the results directory {out}; refusing to write")
    return path


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(spec_dir: Path) -> None:
    """Temp files left by killed processes (never complete, never read); a live writer's stay."""
    if spec_dir.is_dir():
        for tmp in spec_dir.rglob(".*.tmp"):
            pid = tmp.name.rsplit(".", 2)[-2]
            if not (pid.isdigit() and pid_alive(int(pid))):
                tmp.unlink(missing_ok=True)
