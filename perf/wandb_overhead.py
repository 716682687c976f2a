"""`run --wandb` against the same run without it: training images per second (steady epochs) and the
whole process's wall time, fresh processes in alternating order (this machine's speed drifts from
minute to minute). Offline mode, as the default; prints each pair, the medians of the ratios with their
range, and a last JSON line.

    FER_BENCH_DATA=... python perf/wandb_overhead.py [--pairs 4] [--images 4096] [--epochs 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = """name: wandb_overhead
model: {params: {conv_filters: [32, 64, 128], conv_kernels: [3, 3, 3], dense_units: [128]}}
training: {epochs: %d, batch_size: 64}
seeds: 1
"""


def one_run(folder: Path, images: int, with_wandb: bool) -> dict:
    out = folder / ("with" if with_wandb else "without")
    started = time.time()
    subprocess.run([sys.executable, "-m", "fer_bench", "run", str(folder / "spec.yaml"), "--out", str(out),
                    "--max-train-samples", str(images), "--max-eval-samples", "1000", "--rerun", "--quiet",
                    *(["--wandb"] if with_wandb else [])],
                   cwd=folder, env={**os.environ, "WANDB_DIR": str(folder)}, check=True, capture_output=True)
    wall = time.time() - started
    (record_path,) = out.glob("*/*/record.json")
    timing = json.loads(record_path.read_text())["timing"]
    return {"images_per_s": timing["steady_train_images_per_s"], "fit_s": timing["fit_s"], "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    speed, wall = [], []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "spec.yaml").write_text(SPEC % args.epochs)
        for pair in range(args.pairs):
            order = (False, True) if pair % 2 == 0 else (True, False)
            found = {flag: one_run(folder, args.images, flag) for flag in order}
            speed.append(found[True]["images_per_s"] / found[False]["images_per_s"])
            wall.append(found[True]["wall_s"] - found[False]["wall_s"])
            print(f"pair {pair + 1}: without {found[False]['images_per_s']:.0f} images/s, {found[False]['wall_s']:.1f}"
                  f" s; with --wandb {found[True]['images_per_s']:.0f} images/s, {found[True]['wall_s']:.1f} s: "
                  f"speed ratio {speed[-1]:.3f}", flush=True)
    row = {"pairs": len(speed), "images": args.images, "epochs": args.epochs,
           "speed_ratio": [round(statistics.median(speed), 3), round(min(speed), 3), round(max(speed), 3)],
           "extra_wall_s": [round(statistics.median(wall), 2), round(min(wall), 2), round(max(wall), 2)]}
    print(f"== --wandb/without, steady training images/s: median {row['speed_ratio'][0]:.3f} (range "
          f"{row['speed_ratio'][1]:.3f}-{row['speed_ratio'][2]:.3f}); the process's extra wall time: median "
          f"{row['extra_wall_s'][0]:.1f} s (range {row['extra_wall_s'][1]:.1f} to {row['extra_wall_s'][2]:.1f})")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
