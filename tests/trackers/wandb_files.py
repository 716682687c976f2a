"""Read back what W&B wrote offline: each run's .wandb file, a LevelDB-style log of protobuf records.

wandb 0.31 no longer ships a Python reader, so this is the format as W&B's writer lays it out: a
7-byte header (":W&B", magic 0xBEE1, version 0), then 32 KiB blocks of chunks, each with a 7-byte
header (CRC, length, type: 1 whole, 2 first, 3 middle, 4 last).
"""

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

BLOCK, HEADER = 32768, 7


@dataclass
class OfflineRun:
    folder: Path
    run_id: str = ""
    name: str = ""
    group: str = ""
    job_type: str = ""
    tags: list = field(default_factory=list)
    config: dict = field(default_factory=dict)
    history: list = field(default_factory=list)  # one dict a step
    summary: dict = field(default_factory=dict)  # every update, folded in order
    exit_code: int | None = None


def read_offline_runs(wandb_dir: Path) -> dict[str, OfflineRun]:
    """Every offline run under `wandb_dir` (the wandb/ folder), by run id."""
    runs = {}
    for path in sorted(wandb_dir.glob("offline-run-*/run-*.wandb")):
        run = read_run(path)
        assert run.run_id not in runs, f"two offline runs with id {run.run_id}"
        runs[run.run_id] = run
    return runs


def read_run(path: Path) -> OfflineRun:
    run = OfflineRun(path.parent)
    for record in _records(path.read_bytes()):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            info = record.run
            run.run_id, run.name, run.group, run.job_type = info.run_id, info.display_name, info.run_group, \
                info.job_type
            run.tags = list(info.tags)
            _fold(run.config, info.config.update)
        elif kind == "config":
            _fold(run.config, record.config.update)
        elif kind == "history":
            row = {}
            _fold(row, record.history.item)
            run.history.append(row)
        elif kind == "summary":
            _fold(run.summary, record.summary.update)
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
    return run


def _fold(target: dict, items) -> None:
    for item in items:
        key = item.key or "/".join(item.nested_key)
        if key:
            target[key] = json.loads(item.value_json)


def _records(data: bytes):
    from wandb.proto import wandb_internal_pb2

    assert struct.unpack("<4sHB", data[:HEADER]) == (b":W&B", 0xBEE1, 0), "not a W&B run file of format 0"
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        if length == 0 and kind == 0:
            pos += left
            continue
        pending += data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record
