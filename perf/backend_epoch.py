"""Training throughput of one model under the Keras backend that KERAS_BACKEND names, on real
images read as a run reads them (fer_bench/training/inputs.py); one JSON line on stdout. The
benchmark suite runs it once per installed backend, since a process binds one backend.

    KERAS_BACKEND=jax python perf/backend_epoch.py small_cnn 1024 3 [PRECISION]

PRECISION is training.mixed_precision's value (float32 by default; auto as a run resolves it).
"""

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(model_name: str, images: int, rounds: int, asked: str = "float32") -> None:
    from fer_bench.training import precision
    from fer_bench.training.backend import start_backend

    device = start_backend("cpu")
    import keras

    policy = precision.choose(asked, keras.backend.backend(), device)
    keras.config.set_dtype_policy(policy["chosen"])
    from models import warmed_up_on_real_images

    # What a run's fit reads: Keras's stock array pipeline would add tf.data's autotuner waits at the
    # epoch's end, idle seconds that are no precision's (docs/performance.md, "The 'slow bfloat16
    # processes' were waits at the epoch's end").
    model, x, _, inputs = warmed_up_on_real_images(model_name, images)
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        model.fit(**inputs, epochs=1, verbose=0)  # History reads the logs: the device is done
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    print(json.dumps({"backend": keras.backend.backend(), "model": model_name, "images": len(x), "precision": policy,
                      "epoch_s": [round(s, 3) for s in seconds], "images_per_s": round(len(x) / median, 1)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:5])
