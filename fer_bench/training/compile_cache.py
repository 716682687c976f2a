"""JAX's persistent compilation cache, on for every run in fer-bench's cache folder, and a count of
what each trial's programs found in it.

The three seeds of a variant compile the same programs; a second process (a rerun, a worker, the next
session on a lent card) loads them from disk instead of compiling again. Programs that compile in
under JAX's threshold (`jax_persistent_cache_min_compile_time_secs`, 1 s unless set) are not kept.
`FER_BENCH_COMPILE_CACHE=off` (or `run --no-compile-cache`) turns it off; `JAX_COMPILATION_CACHE_DIR`
moves it.
"""

import os
import threading

from fer_bench.storage import cache_dir

ENV_VAR = "FER_BENCH_COMPILE_CACHE"
_HIT, _MISS = "/jax/compilation_cache/cache_hits", "/jax/compilation_cache/cache_misses"


class CacheCounter:
    """Hits and misses of the persistent cache in this process, from JAX's monitoring events."""

    def __init__(self):
        self.hits = self.misses = 0
        self._lock = threading.Lock()

    def __call__(self, event: str, **_) -> None:
        if event in (_HIT, _MISS):
            with self._lock:
                if event == _HIT:
                    self.hits += 1
                else:
                    self.misses += 1

    def mark(self) -> tuple[int, int]:
        return self.hits, self.misses


_counter: CacheCounter | None = None
_folder: str | None = None


def enabled() -> bool:
    return os.environ.get(ENV_VAR, "on").lower() not in ("off", "0", "false", "no")


def start() -> str | None:
    """Turn the cache on (JAX only, unless switched off); the folder it uses, or None."""
    global _counter, _folder
    import jax

    if _counter is None:
        _counter = CacheCounter()
        jax.monitoring.register_event_listener(_counter)
    if not enabled():
        jax.config.update("jax_enable_compilation_cache", False)
        _folder = None
        return None
    _folder = os.environ.get("JAX_COMPILATION_CACHE_DIR") or str(cache_dir() / "xla")
    jax.config.update("jax_compilation_cache_dir", _folder)
    jax.config.update("jax_enable_compilation_cache", True)
    return _folder


def mark() -> tuple[int, int] | None:
    """Where the counts stand now; None where the cache was never started (not JAX)."""
    return _counter.mark() if _counter is not None else None


def since(before: tuple[int, int] | None) -> dict:
    """What a record's compilation says of the cache: on or off, and the programs loaded from it or
    compiled (and offered to it) since `before`."""
    if before is None or _counter is None or _folder is None:
        return {"enabled": False}
    hits, misses = (now - then for now, then in zip(_counter.mark(), before))
    return {"enabled": True, "loaded": hits, "compiled": misses,
            "from_cache": bool(hits) and not misses}
