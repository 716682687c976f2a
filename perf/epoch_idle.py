"""Where an epoch's wall time goes on TensorFlow: per epoch of the study's model, its wall seconds, the
process's CPU seconds, and how idle the machine was (/proc/stat), read through Keras's stock array
pipeline (tf.data autotuned) and through a run's (fer_bench/training/inputs.py, autotuner off), in
float32 and mixed_bfloat16, one fresh process each.

The same CPU seconds in a longer epoch with the machine idle are waits, not arithmetic: this is how
the "slow bfloat16 processes" on the AMD EPYC were told from slow kernels (docs/performance.md).

    FER_BENCH_DATA=... python perf/epoch_idle.py [--epochs 6] [--images 1024] [--model study_cnn]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PIPELINES = ("stock", "runner")
PRECISIONS = ("float32", "mixed_bfloat16")


def machine_ticks() -> list[int]:
    """/proc/stat's first line: user, nice, system, idle, iowait, irq, softirq, steal, ..."""
    with open("/proc/stat") as stat:
        return [int(value) for value in stat.readline().split()[1:]]


def child(model_name: str, images: int, epochs: int, pipeline: str, policy: str) -> None:
    sys.path.insert(0, str(REPO / "perf"))
    from fer_bench.training.backend import start_backend

    start_backend("cpu")
    import keras
    from models import warmed_up_on_real_images

    keras.config.set_dtype_policy(policy)
    model, x, y, runner = warmed_up_on_real_images(model_name, images)
    inputs = runner if pipeline == "runner" else {"x": x, "y": y, "batch_size": 64, "shuffle": True}
    for _ in range(epochs):
        ticks, cpu, wall = machine_ticks(), time.process_time(), time.perf_counter()
        model.fit(**inputs, epochs=1, verbose=0)
        spent = [after - before for before, after in zip(ticks, machine_ticks())]
        wall_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
        print(json.dumps({"pipeline": pipeline, "precision": policy, "wall_s": round(wall_s, 3),
                          "cpu_s": round(cpu_s, 2), "idle": round(spent[3] / sum(spent), 2),
                          "images_per_s": round(len(x) / wall_s, 1)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--model", default="study_cnn")
    parser.add_argument("--child", nargs=2, metavar=("PIPELINE", "PRECISION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.model, args.images, args.epochs, *args.child)
        return
    print(f"{args.model}, {args.images} real train images, batch 64, TensorFlow; per epoch: wall s, the process's "
          f"CPU s, the machine's idle share, images/s", flush=True)
    for pipeline in PIPELINES:
        for policy in PRECISIONS:
            out = subprocess.run([sys.executable, __file__, "--model", args.model, "--images", str(args.images),
                                  "--epochs", str(args.epochs), "--child", pipeline, policy], cwd=REPO, check=True,
                                 capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": "tensorflow"})
            rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
            epochs = "; ".join(f"{row['wall_s']:.2f} s, CPU {row['cpu_s']:.1f} s, idle {row['idle']:.0%}, "
                               f"{row['images_per_s']:.0f}/s" for row in rows)
            print(f"{pipeline:6} {policy:14} {epochs}", flush=True)


if __name__ == "__main__":
    main()
