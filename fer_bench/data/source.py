"""Where the data comes from (flag, spec, environment, bundled sample) and its on-disk cache."""

import contextlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from fer_bench.data.formats import (
    SAMPLE_PATH,
    FERData,
    fingerprint_of,
    parse_source,
    row_digests,
    source_format,
    source_key,
)
from fer_bench.errors import UserError
from fer_bench.faults import fault_point
from fer_bench.storage import cache_dir

ENV_VAR = "FER_BENCH_DATA"
CACHE_FORMAT = 1


def resolve_data_path(flag: str | None, spec_source: str | None = None, spec_dir: Path | None = None) -> Path:
    """--data, else the spec's dataset.source ('sample' or a path), else $FER_BENCH_DATA, else the sample."""
    if flag:
        return Path(flag)
    if spec_source == "sample":
        return SAMPLE_PATH
    if spec_source:
        path = Path(spec_source).expanduser()
        return path if path.is_absolute() or spec_dir is None else spec_dir / path
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return SAMPLE_PATH


def load_data(path: Path) -> FERData:
    """FER-2013 at `path`, from the cache when the source is unchanged since it was cached."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder (give FER-2013 with --data PATH or ${ENV_VAR})")
    fmt = source_format(path)
    key = source_key(path)
    cached = cache_dir() / f"{key}.npz"
    if cached.exists():
        try:
            with np.load(cached, allow_pickle=False) as npz:
                meta = json.loads(str(npz["meta"]))
                if meta["cache_format"] == CACHE_FORMAT:
                    return FERData(
                        npz["pixels"], npz["labels"], npz["usage"], path, fmt,
                        meta["fingerprint"], npz["digests"], from_cache=True,
                    )
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is rebuilt below
    pixels, labels, usage = parse_source(path)
    fault_point("parse")
    digests = row_digests(pixels, labels, usage)
    data = FERData(pixels, labels, usage, path, fmt, fingerprint_of(digests), digests)
    _write_cache(cached, data)
    return data


def _write_cache(target: Path, data: FERData) -> None:
    meta = json.dumps({"cache_format": CACHE_FORMAT, "fingerprint": data.fingerprint, "source": str(data.path)})
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            np.savez(handle, pixels=data.pixels, labels=data.labels, usage=data.usage,
                     digests=data.digests, meta=np.array(meta))
        fault_point("cache")
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        print(f"warning: could not cache the data in {target.parent} ({exc.strerror}); "
              "loading will stay slow", file=sys.stderr)
