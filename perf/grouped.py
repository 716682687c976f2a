"""Trials trained together against one at a time, on this machine (JAX, the device loop): a family of
trials of one model shape through `fer-bench run --together N` and `--together off`, each in a fresh
process with a fresh compile cache, on the same data. Prints per family the wall time, the training
images per second of the whole family (every trial's images over the seconds spent training them),
the compile seconds, and where the rest of the time went; then the ratios grouped/alone, and a last
JSON line.

    FER_BENCH_DATA=... python perf/grouped.py [--images 2048] [--epochs 2] [--families small_cnn study_cnn]

small_cnn: the 32-64-128 CNN at learning rates 1e-3, 3e-3 and 1e-2 over 3 seeds (9 trials);
study_cnn: the study's 4.5M-parameter model, 3 seeds.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAMILIES = {
    "small_cnn": ("{params: {conv_filters: [32, 64, 128], conv_kernels: [3, 3, 3], dense_units: [128]}}",
                  "sweep: {grid: {training.optimizer.learning_rate: [0.001, 0.003, 0.01]}}"),
    "study_cnn": ("{}", ""),
}


def spec_text(family: str, images: int, epochs: int) -> str:
    model, sweep = FAMILIES[family]
    return f"""name: {family}
dataset: {{max_train_samples: {images}, max_eval_samples: 512}}
model: {model}
training: {{epochs: {epochs}, batch_size: 64, loop: device, callbacks: {{reduce_lr_on_plateau: null}}}}
seeds: 3
{sweep}
"""


def run(spec: Path, together: str, work: Path) -> dict:
    """One `fer-bench run` in a fresh process; its wall time and what its records say."""
    out, cache = work / f"out-{together}", work / f"cache-{together}"
    env = {**os.environ, "KERAS_BACKEND": "jax", "FER_BENCH_CACHE": str(cache), "JAX_COMPILATION_CACHE_DIR": ""}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fer_bench", "run", str(spec), "--together", together, "--out", str(out),
                    "--device", "cpu", "--quiet"], cwd=REPO, env=env, check=True)
    wall = time.perf_counter() - began
    records = [json.loads(p.read_text()) for p in sorted(out.rglob("record.json"))]
    n_train = records[0]["data"]["n"]["train"]
    train_s = {}  # a group's training seconds count once, not once per member
    for r in records:
        key = (r.get("group") or {}).get("id", r["trial_id"])
        train_s[key] = max(train_s.get(key, 0.0), sum(h["train_s"] for h in r["history"]))
    compile_s = {(r.get("group") or {}).get("id", r["trial_id"]): r["compilation"]["compile_s"] for r in records}
    images = sum(n_train * len(r["history"]) for r in records)
    return {"trials": len(records), "wall_s": round(wall, 1), "train_s": round(sum(train_s.values()), 1),
            "images_per_s": round(images / sum(train_s.values()), 1), "compile_s": round(sum(compile_s.values()), 1),
            "programs": len(compile_s), "eval_s": round(sum(r["timing"]["eval_s"] or 0 for r in records), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048, help="training images per trial")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    args = parser.parse_args()
    summary = []
    for family in args.families:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            spec = work / f"{family}.yaml"
            spec.write_text(spec_text(family, args.images, args.epochs))
            found = {how: run(spec, how, work) for how in ("off", "9")}
        alone, grouped = found["off"], found["9"]
        for how, row in (("alone", alone), ("grouped", grouped)):
            other = row["wall_s"] - row["train_s"] - row["compile_s"] - row["eval_s"]
            print(f"{family} {how}: {row['trials']} trials in {row['programs']} programs, wall {row['wall_s']}s = "
                  f"training {row['train_s']}s ({row['images_per_s']} images/s) + compiling {row['compile_s']}s + "
                  f"scoring {row['eval_s']}s + the rest {other:.1f}s (start-up, data, validation, gradient probe, "
                  "records)", flush=True)
        ratios = {"wall": round(alone["wall_s"] / grouped["wall_s"], 2),
                  "images_per_s": round(grouped["images_per_s"] / alone["images_per_s"], 2)}
        print(f"== {family}: grouped against alone: {ratios['wall']:.2f}x the speed in wall time, "
              f"{ratios['images_per_s']:.2f}x the training images/s")
        summary.append({"family": family, "alone": alone, "grouped": grouped, "speedup": ratios})
    print(json.dumps({"images": args.images, "epochs": args.epochs, "families": summary}))


if __name__ == "__main__":
    main()
