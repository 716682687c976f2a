"""Per-trial claim files, so that several `fer-bench run` processes on one results directory never
train the same trial twice. A claim names its process; a claim whose process is gone on this host
is taken over. Claims of processes on other hosts are respected, since their liveness cannot be
checked from here (delete such a `.claim` by hand if its host died).
"""

import json
import os
import platform
import time
from pathlib import Path

from fer_bench.storage import pid_alive

CLAIM = ".claim"


def try_claim(trial_dir: Path) -> dict | None:
    """Claim the trial for this process; None when a live process holds it. Returns our claim."""
    trial_dir.mkdir(parents=True, exist_ok=True)
    path = trial_dir / CLAIM
    mine = {"pid": os.getpid(), "host": platform.node(), "since": time.time()}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _read(path)
            if owner is not None and _alive(owner):
                return None
            try:  # a dead owner's claim: only one process wins this rename, then claims anew
                os.rename(path, trial_dir / f"{CLAIM}.stale.{os.getpid()}")
                (trial_dir / f"{CLAIM}.stale.{os.getpid()}").unlink()
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(mine, handle)
        return mine
    return None


def take_claim(trial_dir: Path) -> dict:
    """Claim the trial whoever holds it: for a worker whose chief assigned the trial to it alone."""
    trial_dir.mkdir(parents=True, exist_ok=True)
    mine = {"pid": os.getpid(), "host": platform.node(), "since": time.time()}
    tmp = trial_dir / f"{CLAIM}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(mine))
    os.replace(tmp, trial_dir / CLAIM)
    return mine


def release(trial_dir: Path) -> None:
    path = trial_dir / CLAIM
    owner = _read(path)
    if owner is not None and owner.get("pid") == os.getpid() and owner.get("host") == platform.node():
        path.unlink(missing_ok=True)


def owner_of(trial_dir: Path) -> dict | None:
    return _read(trial_dir / CLAIM)


def _alive(owner: dict) -> bool:
    if owner.get("host") != platform.node():
        return True
    return isinstance(owner.get("pid"), int) and pid_alive(owner["pid"])


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        # Half-written by a process killed between create and write: treat as dead once it is old.
        try:
            return None if time.time() - path.stat().st_mtime > 5 else {"pid": -1, "host": "", "since": 0}
        except FileNotFoundError:
            return None
