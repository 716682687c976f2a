"""Peak memory of a trial: the kernel's high-water mark of resident memory reset at its start (Linux),
a sampler thread where that cannot be reset, and the GPU's own peak counter."""

import resource
import sys
import threading
from pathlib import Path

SAMPLE_S = 0.1
_PROC = Path("/proc/self")


class MemoryWatch:
    """This process's peak RSS between start() and stop().

    On Linux the kernel keeps the peak itself (VmHWM) and resets it on request, so nothing runs
    beside training: a sampler thread took about 0.2 CPU seconds of each 70-second epoch of the
    small CNN on one core (perf/overhead.py --threads). Elsewhere a thread samples the RSS every
    SAMPLE_S seconds.
    """

    # The reset clears the process's own peak (ru_maxrss) too: what it was before is kept here.
    process_peak_before_reset = 0

    def __init__(self):
        self._process = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="memory-watch", daemon=True)
        self._kernel_peak = False
        self.peak_rss = 0

    def _sample(self):
        while True:
            self.peak_rss = max(self.peak_rss, self._process.memory_info().rss)
            if self._stop.wait(SAMPLE_S):
                return

    def start(self) -> "MemoryWatch":
        _reset_gpu_peak()
        MemoryWatch.process_peak_before_reset = max(MemoryWatch.process_peak_before_reset, _process_peak())
        self._kernel_peak = _reset_kernel_peak()
        if self._kernel_peak:
            return self
        try:
            import psutil

            self._process = psutil.Process()
        except ImportError:  # e.g. a GPU machine with only the carried wheels: the process peak stands in
            return self
        self._thread.start()
        return self

    def stop(self) -> dict:
        lifetime = max(MemoryWatch.process_peak_before_reset, _process_peak())
        if self._kernel_peak:
            self.peak_rss = _kernel_peak() or lifetime
        elif self._process is None:
            self.peak_rss = lifetime
        else:
            self._stop.set()
            self._thread.join(timeout=2)
            self.peak_rss = max(self.peak_rss, self._process.memory_info().rss)
        gpu = _gpu_peak()
        return {"peak_rss_mib": round(self.peak_rss / 2**20, 1),
                "process_peak_rss_mib": round(lifetime / 2**20, 1),
                "gpu_peak_mib": round(gpu / 2**20, 1) if gpu is not None else None}


def _process_peak() -> int:
    # ru_maxrss is KiB on Linux, bytes on macOS
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def _reset_kernel_peak() -> bool:
    """Set VmHWM back to the current RSS (Linux 4.0 and later); False where that is not possible."""
    try:
        (_PROC / "clear_refs").write_text("5")
    except OSError:
        return False
    return _kernel_peak() is not None


def _kernel_peak() -> int | None:
    """VmHWM in bytes, None where /proc has no such line."""
    try:
        status = (_PROC / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


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
