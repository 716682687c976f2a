"""Peak memory of a trial: resident set size sampled while it runs, and the GPU's own peak counter."""

import resource
import sys
import threading

SAMPLE_S = 0.1


class MemoryWatch:
    """Samples this process's RSS every SAMPLE_S seconds between start() and stop()."""

    def __init__(self):
        try:
            import psutil

            self._process = psutil.Process()
        except ImportError:  # e.g. a GPU machine with only the carried wheels: the process peak stands in
            self._process = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="memory-watch", daemon=True)
        self.peak_rss = 0

    def _sample(self):
        while True:
            self.peak_rss = max(self.peak_rss, self._process.memory_info().rss)
            if self._stop.wait(SAMPLE_S):
                return

    def start(self) -> "MemoryWatch":
        _reset_gpu_peak()
        if self._process is not None:
            self._thread.start()
        return self

    def stop(self) -> dict:
        # ru_maxrss is KiB on Linux, bytes on macOS
        lifetime = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
        if self._process is None:
            self.peak_rss = lifetime
        else:
            self._stop.set()
            self._thread.join(timeout=2)
            self.peak_rss = max(self.peak_rss, self._process.memory_info().rss)
        gpu = _gpu_peak()
        return {"peak_rss_mib": round(self.peak_rss / 2**20, 1),
                "process_peak_rss_mib": round(lifetime / 2**20, 1),
                "gpu_peak_mib": round(gpu / 2**20, 1) if gpu is not None else None}


def _backend() -> str:
    import keras

    return keras.backend.backend()


def _reset_gpu_peak() -> None:
    try:
        if _backend() == "tensorflow":
            import tensorflow as tf

            if tf.config.list_logical_devices("GPU"):
                tf.config.experimental.reset_memory_stats("GPU:0")
        elif _backend() == "torch":
            import torch

            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
    except Exception:  # noqa: S110 - a missing counter only leaves gpu_peak_mib empty
        pass


def _gpu_peak() -> int | None:
    """Peak bytes on the first GPU since the last reset (JAX: since the process started); None without one."""
    try:
        backend = _backend()
        if backend == "tensorflow":
            import tensorflow as tf

            if tf.config.list_logical_devices("GPU"):
                return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return int(torch.cuda.max_memory_allocated())
        elif backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform == "gpu":
                return int((device.memory_stats() or {}).get("peak_bytes_in_use", 0)) or None
    except Exception:
        return None
    return None
