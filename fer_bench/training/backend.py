"""Keras backend start-up: device choice, quiet native logs, and the environment a record keeps."""

import atexit
import logging
import os
import platform
import re
import subprocess
import sys
import threading
from pathlib import Path

from fer_bench._version import __version__
from fer_bench.errors import UserError
from fer_bench.storage import cache_dir

DEVICES = ("auto", "cpu", "gpu")
BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
BACKEND_EXTRAS = {"tensorflow": "tf", "jax": "jax", "torch": "torch"}

# Native start-up notices that TensorFlow and XLA write to file descriptor 2 before (or outside)
# Python logging; they alarm users and say nothing about the run.
_NOISE = re.compile(
    r"oneDNN custom operations|absl::InitializeLog|TensorFlow binary is optimized|"
    r"rebuild TensorFlow with the appropriate compiler flags|Unable to register cu(DNN|FFT|BLAS)|"
    r"computation placer already registered|Could not find cuda drivers|cuda_executor|"
    r"TF-TRT Warning|^[EWI]0000 |^WARNING: All log messages before|gpu_device\.cc|cpu_feature_guard|"
    r"port\.cc|cuda_dnn|cuda_blas|cuda_fft|service\.cc|StreamExecutor|XLA service"
)


def filter_native_stderr() -> None:
    """Route file descriptor 2 through a filter thread that drops the native start-up notices."""
    if getattr(filter_native_stderr, "installed", False):
        return
    filter_native_stderr.installed = True
    sys.stderr.flush()
    real, keep = os.dup(2), os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump():
        with os.fdopen(read_end, "rb") as pipe, os.fdopen(real, "wb", buffering=0) as out:
            for line in pipe:
                if not _NOISE.search(line.decode("utf-8", "replace")):
                    out.write(line)

    thread = threading.Thread(target=pump, name="stderr-filter", daemon=True)
    thread.start()

    def restore():
        sys.stderr.flush()
        os.dup2(keep, 2)  # closes the pipe's last write end, so the filter drains and stops
        thread.join(timeout=2)

    atexit.register(restore)


def start_backend(device: str) -> dict:
    """Import Keras on the chosen device; returns the device description for records."""
    if device not in DEVICES:
        raise UserError(f"--device {device!r}: allowed are {', '.join(DEVICES)}")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_HOME", str(cache_dir() / "keras"))
    backend = os.environ["KERAS_BACKEND"]
    if backend not in BACKEND_MODULES:
        raise UserError(f"KERAS_BACKEND={backend!r}: allowed are {', '.join(BACKEND_MODULES)}")
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
        os.environ["JAX_PLATFORMS"] = "cpu"
    filter_native_stderr()
    try:
        __import__(BACKEND_MODULES[backend])
    except ImportError:
        raise UserError(
            f"KERAS_BACKEND={backend} but {BACKEND_MODULES[backend]} is not installed: "
            f"pip install 'fer-bench[{BACKEND_EXTRAS[backend]}]'"
        ) from None
    import keras  # noqa: F401 - imported here so that the backend above is the one it binds

    if backend == "jax":
        from fer_bench.training import compile_cache

        compile_cache.start()

    # Every trial builds a fresh model, so TensorFlow's "retracing" warning is expected, not a hint.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    gpus = _gpu_names(backend)
    if device == "gpu" and not gpus:
        raise UserError(f"--device gpu: the {backend} backend sees no GPU on this machine; use --device cpu or auto")
    if gpus and device != "cpu":
        capability = _compute_capability(backend)
        return {"kind": "gpu", "name": gpus[0], "count": len(gpus), **_nvidia_smi(),
                **({"compute_capability": capability} if capability else {})}
    # The cores this process may run on: fewer than the machine's under taskset or a container's CPU set.
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"kind": "cpu", "name": _cpu_name(), "count": usable}


def _gpu_names(backend: str) -> list[str]:
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    if backend == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    import torch

    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def _compute_capability(backend: str) -> str | None:
    """The first GPU's CUDA compute capability, e.g. "9.0"; None where the backend does not say."""
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            found = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
            major_minor = found.get("compute_capability")
        elif backend == "jax":
            import jax

            return str(next(d for d in jax.devices() if d.platform == "gpu").compute_capability)
        else:
            import torch

            major_minor = torch.cuda.get_device_capability(0)
        return "{}.{}".format(*major_minor) if major_minor else None
    except (AttributeError, IndexError, StopIteration, RuntimeError, TypeError, ValueError):
        return None


def gpu_present() -> bool:
    """Whether this machine has an NVIDIA GPU, asked of nvidia-smi without starting a backend on it."""
    return bool(_nvidia_smi())


def _nvidia_smi() -> dict:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.total,driver_version", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.splitlines()[0]
        memory, driver = (s.strip() for s in out.split(","))
        return {"memory_mib": int(float(memory)), "driver": driver}
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return {}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device_info: dict, search: bool = False) -> dict:
    """What a reader needs to trust or reproduce a number: backend, device, versions, host."""
    import keras
    import numpy

    tuner = {}
    if search:
        import keras_tuner

        tuner = {"keras_tuner": keras_tuner.__version__}
    backend = keras.backend.backend()
    backend_module = sys.modules.get(BACKEND_MODULES.get(backend, ""), None)
    return {
        "backend": backend,
        "backend_version": getattr(backend_module, "__version__", None),
        "device": device_info,
        "versions": {
            "fer_bench": __version__,
            "keras": keras.__version__,
            "numpy": numpy.__version__,
            "python": platform.python_version(),
            **tuner,
        },
        "host": platform.node(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
    }


def git_commit() -> str | None:
    """The commit of the fer-bench checkout in use, with '-dirty' for local changes; None if installed."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def set_random_seed(seed: int) -> None:
    """keras.utils.set_random_seed (Python, NumPy, Keras's own generator, torch), less the TensorFlow
    import it makes on any backend when TensorFlow is installed: a JAX or torch process that never runs
    TensorFlow would pay 2-9 s and its memory only to seed it. Where TensorFlow runs, or was imported
    anyway, it is seeded as before."""
    import keras
    from keras.src.utils import module_utils

    lazy = module_utils.tensorflow
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules or not hasattr(lazy, "_available"):
        keras.utils.set_random_seed(seed)
        return
    known = lazy._available
    lazy._available = False
    try:
        keras.utils.set_random_seed(seed)
    finally:
        lazy._available = known
