"""The runner's overhead: fer-bench trials against perf/bare_keras.py, in alternating pairs.

    python perf/overhead.py [--data PATH] [--pairs 3] [--train 5000] [--eval 1000]

Both train the same small CNN (32-64-128, the bare script writes it out by hand) on the same
images for 2 epochs with the same seed and predict the same test images: each pair checks that
their test scores are identical, i.e. that both did the very same work. Prints, per pair, the
seconds each took for the trial (model build to last prediction: fer-bench's timing.total_s) and
for the whole process, then the mean ratios with their median, spread and 95% interval. Goal:
trial ratio at most 1.03. A third run per round, fer-bench with `training.gradient_stats: false`,
gives the gradient statistics' own ratio (goal: at most 1.02). The order of the three alternates
per pair.
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

from fer_bench.data.source import load_data, resolve_data_path  # noqa: E402
from fer_bench.data.splits import study_splits  # noqa: E402

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
        specs = {}
        for name, stats in (("ours", "true"), ("no_stats", "false")):
            specs[name] = work / f"{name}{pair}.yaml"
            specs[name].write_text(SPEC.format(train=args.train, eval=args.eval, seed=pair, stats=stats))
        # Alternate who goes first, so that a machine slowly getting busier or quieter favours neither.
        order = ["bare", "ours", "no_stats"] if pair % 2 == 0 else ["no_stats", "ours", "bare"]
        done = {name: timed([sys.executable, "perf/bare_keras.py", str(arrays), str(pair)]) if name == "bare"
                else run_spec(specs[name], work / f"{name}-results{pair}", data_path) for name in order}
        bare_wall, bare_out = done["bare"]
        bare = json.loads(bare_out.strip().splitlines()[-1])
        ours_wall, ours = done["ours"]
        _, plain = done["no_stats"]
        same = all(ours["best_metrics"][f"{name}_test_accuracy"] == bare["accuracy"][name]
                   for name in ("public", "private"))
        trial_ratios.append(ours["timing"]["total_s"] / bare["total_s"])
        process_ratios.append(ours_wall / bare_wall)
        gradient_ratios.append(ours["timing"]["total_s"] / plain["timing"]["total_s"])
        print(f"pair {pair + 1} ({'bare first' if order[0] == 'bare' else 'fer-bench first'}): trial "
              f"{ours['timing']['total_s']:.2f}s vs bare {bare['total_s']:.2f}s (x{trial_ratios[-1]:.3f}; "
              f"fit {ours['timing']['fit_s']:.2f}s vs {bare['fit_s']:.2f}s); "
              f"process {ours_wall:.2f}s vs {bare_wall:.2f}s (x{process_ratios[-1]:.3f}); "
              f"gradient statistics x{gradient_ratios[-1]:.3f}; "
              f"test scores {'identical' if same else 'DIFFER (not the same training)'}", flush=True)
    for name, ratios in (("trial ratio fer-bench / bare Keras", trial_ratios),
                         ("process ratio fer-bench / bare Keras", process_ratios),
                         ("gradient statistics ratio, with / without", gradient_ratios)):
        print(f"{name}: {summary(ratios)}")


def run_spec(spec: Path, out: Path, data_path) -> tuple[float, dict]:
    wall, _ = timed([sys.executable, "-m", "fer_bench", "run", str(spec), "--data", str(data_path),
                     "--out", str(out), "--quiet"])
    (record,) = out.glob("overhead/*/record.json")
    return wall, json.loads(record.read_text())


def summary(ratios: list[float]) -> str:
    mean = statistics.mean(ratios)
    # The median too: on a shared machine one disturbed run can move the mean of a few pairs.
    text = f"{mean:.3f} (median {statistics.median(ratios):.3f}, min {min(ratios):.3f}, max {max(ratios):.3f}"
    if len(ratios) > 1:
        from scipy import stats

        spread = statistics.stdev(ratios)
        half = stats.t.ppf(0.975, len(ratios) - 1) * spread / len(ratios) ** 0.5
        text += f", sd {spread:.3f}, 95% interval {mean - half:.3f}-{mean + half:.3f}"
    return f"{text}, n={len(ratios)})"


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    main()
