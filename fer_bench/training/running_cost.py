"""What a trained model costs to run, as whoever deploys it asks: its saved size, the latency of one face
(median and 90th percentile over LATENCY_CALLS calls after warm-up) and the throughput at batch 256 (of the
scoring's own prediction pass over PrivateTest), on the device the trial ran on, with the threads it could use."""

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

LATENCY_CALLS = 100
WARMUP_CALLS = 10


def saved_bytes(model) -> int:
    """The size of the model's weights as Keras saves them (.weights.h5), without the optimizer's state: a
    deployed model has none, and Adam's would triple it. Weights only, not a .keras file: its config adds a
    few kB, and writing it on JAX imports TensorFlow where it is installed (5 s a process)."""
    optimizer = getattr(model, "optimizer", None)
    with tempfile.TemporaryDirectory(prefix="fer-bench-size-") as folder:
        path = Path(folder) / "model.weights.h5"
        model.optimizer = None  # saved with the model's state otherwise
        try:
            model.save_weights(path)
        finally:
            model.optimizer = optimizer
        return path.stat().st_size


def running_cost(model, images: np.ndarray, device: str, throughput: tuple[int, float], batch: int) -> dict:
    """The latency of one image, over LATENCY_CALLS calls on faces of `images` (N, 48, 48, 1) float32 after
    WARMUP_CALLS; `throughput`: (images, seconds) of a prediction pass at `batch` that the scoring made anyway,
    with its program compiled already (timing batches of its own would cost the study's model seconds more
    per trial on a CPU)."""
    for i in range(WARMUP_CALLS):
        model.predict_on_batch(images[i % len(images)][None])
    latencies = []
    for i in range(LATENCY_CALLS):
        image = images[i % len(images)][None]
        started = time.perf_counter()
        model.predict_on_batch(image)
        latencies.append((time.perf_counter() - started) * 1000)
    counted, seconds = throughput
    return {
        "device": device,
        "threads": threads(),
        "latency_ms": {"median": round(statistics.median(latencies), 4),
                       "p90": round(float(np.percentile(latencies, 90)), 4),
                       "calls": LATENCY_CALLS, "warmup_calls": WARMUP_CALLS},
        "batch": min(batch, counted),
        "images": counted,
        "images_per_s": round(counted / seconds, 1) if seconds > 0 else None,
    }


def threads() -> int:
    """The CPU threads the backend's operations may use: TensorFlow's intra-op setting where it is set,
    else the cores this process may run on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.config.threading.get_intra_op_parallelism_threads() or cores
    return cores
