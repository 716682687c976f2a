"""The runner's overhead: fer-bench trials against perf/bare_keras.py, in alternating pairs.

    python perf/overhead.py [--data PATH] [--pairs 3] [--train 5000] [--eval 1000]

Both train the same small CNN (32-64-128, the bare script writes it out by hand) on the same
images for 2 epochs and predict the same test images. Prints, per pair, the seconds each took for
the trial (model build to last prediction: fer-bench's timing.total_s) and for the whole process,
then the mean ratios with their spread. Goal: trial ratio at most 1.03. A third run per round,
fer-bench with `training.gradient_stats: false`, gives the gradient statistics' own ratio
(goal: at most 1.02).
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

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fer_bench.datasource import load_data, resolve_data_path  # noqa: E402
from fer_bench.splits import study_splits  # noqa: E402

SPEC = """name: overhead
model:
  params: {{conv_filters: [32, 64, 128], conv_kernels: [3, 3, 3], dense_units: [128]}}
training: {{epochs: 2, batch_size: 64, gradient_stats: {stats}}}
dataset: {{max_train_samples: {train}, max_eval_samples: {eval}}}
seeds: [{seed}]
"""


def timed(command: list[str]) -> tuple[float, str]:
    started = time.time()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return time.time() - started, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--eval", type=int, default=1000)
    args = parser.parse_args()
    data_path = resolve_data_path(args.data)
    data = load_data(data_path)
    splits = study_splits(data, 1302, 0.3, args.train, args.eval)
    work = Path(tempfile.mkdtemp(prefix="fer-bench-overhead-"))
    arrays = work / "arrays.npz"
    names = {"train": "train", "val": "validation", "public": "public_test", "private": "private_test"}
    np.savez(arrays, **{f"x_{k}": data.pixels[splits[v].indices] for k, v in names.items()},
             **{f"y_{k}": data.labels[splits[v].indices] for k, v in names.items()})
    print(f"data {data.fingerprint}: train {args.train}, eval {args.eval} per split, 2 epochs, small CNN")
    trial_ratios, process_ratios, gradient_ratios = [], [], []
    for pair in range(args.pairs):
        spec = work / f"overhead{pair}.yaml"
        spec.write_text(SPEC.format(train=args.train, eval=args.eval, seed=pair, stats="true"))
        no_stats_spec = work / f"nostats{pair}.yaml"
        no_stats_spec.write_text(SPEC.format(train=args.train, eval=args.eval, seed=pair, stats="false"))
        bare_wall, bare_out = timed([sys.executable, "perf/bare_keras.py", str(arrays), str(pair)])
        bare = json.loads(bare_out.strip().splitlines()[-1])
        bare_trial = bare["total_s"]
        out = work / f"results{pair}"
        ours_wall, _ = timed([sys.executable, "-m", "fer_bench", "run", str(spec), "--data", str(data_path),
                              "--out", str(out), "--quiet"])
        (record,) = out.glob("overhead/*/record.json")
        timing = json.loads(record.read_text())["timing"]
        ours_trial = timing["total_s"]
        no_stats = work / f"nostats-results{pair}"
        timed([sys.executable, "-m", "fer_bench", "run", str(no_stats_spec), "--data", str(data_path),
               "--out", str(no_stats), "--quiet"])
        (plain,) = no_stats.glob("overhead/*/record.json")
        gradient_ratios.append(ours_trial / json.loads(plain.read_text())["timing"]["total_s"])
        trial_ratios.append(ours_trial / bare_trial)
        process_ratios.append(ours_wall / bare_wall)
        print(f"pair {pair + 1}: trial {ours_trial:.2f}s vs bare {bare_trial:.2f}s (x{trial_ratios[-1]:.3f}; "
              f"fit {timing['fit_s']:.2f}s vs {bare['fit_s']:.2f}s); "
              f"process {ours_wall:.2f}s vs {bare_wall:.2f}s (x{process_ratios[-1]:.3f}); "
              f"gradient statistics x{gradient_ratios[-1]:.3f}", flush=True)
    for name, ratios in (("trial ratio fer-bench / bare Keras", trial_ratios),
                         ("process ratio fer-bench / bare Keras", process_ratios),
                         ("gradient statistics ratio, with / without", gradient_ratios)):
        spread = statistics.stdev(ratios) if len(ratios) > 1 else 0.0
        print(f"{name}: {statistics.mean(ratios):.3f} "
              f"(min {min(ratios):.3f}, max {max(ratios):.3f}, sd {spread:.3f}, n={len(ratios)})")


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    main()
