"""Trials trained together against one at a time, on this machine (JAX, the device loop): a family of
trials of one model shape through `fer-bench run --together N` and `--together off`, each in a fresh
process with a fresh compile cache, on the same data. Prints per family the wall time, the training
images per second of the whole family (every trial's images over the seconds spent training them),
the compile seconds, and where the rest of the time went; then the ratios grouped/alone, and a last
JSON line.

    FER_BENCH_DATA=... python perf/grouped.py [--images 2048] [--epochs 2] [--families small_cnn study_cnn]
        [--device cpu|gpu] [--data PATH] [--together 9]

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


def run(spec: Path, how: str, work: Path, flags: list[str]) -> dict:
    """One `fer-bench run` in a fresh process (`how`: a --together value, or workers-N for N processes one
    trial at a time); its wall time and what its records say."""
    out, cache = work / f"out-{how}", work / f"cache-{how}"
    how_flags = ["--together", "off", "--workers", how.split("-")[1]] if how.startswith("workers-") else \
        ["--together", how]
    env = {**os.environ, "KERAS_BACKEND": "jax", "FER_BENCH_CACHE": str(cache), "JAX_COMPILATION_CACHE_DIR": ""}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fer_bench", "run", str(spec), *how_flags, "--out", str(out),
                    "--quiet", *flags], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - began
    records = [json.loads(p.read_text()) for p in sorted(out.rglob("record.json"))]
    n_train = records[0]["data"]["n"]["train"]
    # a group's training seconds count once, not once per member; with workers the trials' seconds overlap,
    # so their sum overstates the time: workers are judged by wall time
    train_s = {}
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
    parser.add_argument("--device", default="cpu", choices=("cpu", "gpu"))
    parser.add_argument("--data", help="FER-2013 (default: $FER_BENCH_DATA)")
    parser.add_argument("--together", default="9", help="the group size of the grouped run")
    parser.add_argument("--workers", type=int, default=0,
                        help="also N processes on one results folder, one trial at a time each (run --workers N)")
    args = parser.parse_args()
    flags = ["--device", args.device, *(["--data", args.data] if args.data else [])]
    summary = []
    for family in args.families:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            spec = work / f"{family}.yaml"
            spec.write_text(spec_text(family, args.images, args.epochs))
            hows = ["off", args.together] + ([f"workers-{args.workers}"] if args.workers else [])
            found = {how: run(spec, how, work, flags) for how in hows}
        alone, grouped = found["off"], found[args.together]
        rows = [("alone", alone), ("grouped", grouped)] + [(h, found[h]) for h in hows[2:]]
        for how, row in rows:
            other = row["wall_s"] - row["train_s"] - row["compile_s"] - row["eval_s"]
            print(f"{family} {how}: {row['trials']} trials in {row['programs']} programs, wall {row['wall_s']}s = "
                  f"training {row['train_s']}s ({row['images_per_s']} images/s) + compiling {row['compile_s']}s + "
                  f"scoring {row['eval_s']}s + the rest {other:.1f}s (start-up, data, validation, gradient probe, "
                  "records)", flush=True)
        ratios = {"wall": round(alone["wall_s"] / grouped["wall_s"], 2),
                  "images_per_s": round(grouped["images_per_s"] / alone["images_per_s"], 2),
                  **{f"{h}_wall": round(alone["wall_s"] / found[h]["wall_s"], 2) for h in hows[2:]}}
        print(f"== {family}: grouped against alone: {ratios['wall']:.2f}x the speed in wall time, "
              f"{ratios['images_per_s']:.2f}x the training images/s")
        for how in hows[2:]:
            print(f"== {family}: {how} against alone: {ratios[how + '_wall']:.2f}x the speed in wall time")
        summary.append({"family": family, **{("alone" if h == "off" else "grouped" if h == args.together else h):
                                             found[h] for h in hows}, "speedup": ratios})
    print(json.dumps({"images": args.images, "epochs": args.epochs, "device": args.device, "families": summary}))


if __name__ == "__main__":
    main()
