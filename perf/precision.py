"""training.mixed_precision: auto against float32 on this CPU: training images per second of
mixed_bfloat16 and float32, fresh processes in alternating order (this machine's speed drifts from
minute to minute), per backend and model. Prints each pair, then per backend and model what auto
chooses there and the median ratio auto/float32 with its range (1.00 where auto keeps float32; the
bfloat16 ratio is printed either way); a last JSON line.

    FER_BENCH_DATA=... python perf/precision.py [--pairs 5] [--images 1024] [--backends tensorflow jax]
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def epoch(backend: str, model: str, images: int, asked: str) -> dict:
    """One child process: 3 epochs after a warm-up, the median's images/s (perf/backend_epoch.py)."""
    out = subprocess.run([sys.executable, str(REPO / "perf" / "backend_epoch.py"), model, str(images), "3", asked],
                         cwd=REPO, env={**os.environ, "KERAS_BACKEND": backend}, check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from fer_bench.training import precision

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--models", nargs="+", default=["study_cnn", "small_cnn"])
    args = parser.parse_args()
    summary = []
    for backend in args.backends:
        if importlib.util.find_spec(MODULES[backend]) is None:
            print(f"{backend}: not installed, skipped")
            continue
        for model in args.models:
            auto = precision.choose("auto", backend, {"kind": "cpu"})
            ratios = []
            for pair in range(args.pairs):
                order = ("float32", "mixed_bfloat16") if pair % 2 == 0 else ("mixed_bfloat16", "float32")
                found = {asked: epoch(backend, model, args.images, asked)["images_per_s"] for asked in order}
                ratios.append(found["mixed_bfloat16"] / found["float32"])
                print(f"{backend} {model} pair {pair + 1}: float32 {found['float32']:.0f}, mixed_bfloat16 "
                      f"{found['mixed_bfloat16']:.0f} images/s: ratio {ratios[-1]:.2f}", flush=True)
            bf16 = [round(statistics.median(ratios), 2), round(min(ratios), 2), round(max(ratios), 2)]
            picks_bf16 = auto["chosen"] == "mixed_bfloat16"
            row = {"backend": backend, "model": model, "auto": auto["chosen"], "decided_by": auto["decided_by"],
                   "pairs": len(ratios), "bfloat16_ratio": bf16, "auto_ratio": bf16 if picks_bf16 else [1.0] * 3}
            summary.append(row)
            print(f"== {backend} {model}: mixed_bfloat16/float32 median {bf16[0]:.2f} (range {bf16[1]:.2f}-"
                  f"{bf16[2]:.2f}, {len(ratios)} pairs); auto chooses {auto['chosen']} ({auto['reason']}): "
                  f"auto/float32 {row['auto_ratio'][0]:.2f}", flush=True)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
