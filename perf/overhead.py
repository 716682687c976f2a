"""The runner's overhead: fer-bench trials against perf/bare_keras.py, in alternating pairs.

    python perf/overhead.py [--data PATH] [--pairs 3] [--train 5000] [--eval 1000] [--epochs 2]
    python perf/overhead.py --full [--pairs 3] [--stats-ratio] [--bare stock,autotune-off]
    python perf/overhead.py --full --side-by-side [--pairs 4] [--bare autotune-off] [--threads]

Both train the same small CNN (32-64-128, the bare script writes it out by hand) on the same
images with the same seed and predict the same test images: each pair checks that their test
scores are identical, i.e. that both did the very same work. Prints, per pair, the seconds each
took for the trial (model build to last prediction: fer-bench's timing.total_s), for fit (first
callback to return: timing.fit_s) and for the whole process, every epoch's seconds on both sides
(validation included) with the slowest epoch against the trial's median epoch, the seconds of
fit outside its epochs (a wait after the last epoch shows only there) and the share of the
machine's CPU time the hypervisor stole during each run (a busy neighbour on a shared virtual
machine slows one side of a pair), then the mean ratios with their median, spread and 95% interval;
the median-epoch ratio is the one a single disturbed epoch moves least.

The quick mode (5,000 training images, 1,000 per evaluation split, 2 epochs, the default
horizontal flips and reduce-on-plateau) runs a third trial per pair, fer-bench with
`training.gradient_stats: false`, for the gradient statistics' own ratio. `--full` is the size a
user runs: the whole train split and every evaluation image, 5 epochs, no flips, no
reduce-on-plateau, gradient statistics on (about 7 minutes a trial on a 2-core CPU; the
trial without gradient statistics only with --stats-ratio).

The bare side is run twice per pair by default: `stock`, arrays into fit and predict as a Keras
user writes it, and `autotune-off`, the same arrays through the input pipeline fer-bench uses on
TensorFlow (docs/performance.md, the slow epochs). Against the first the ratio says what a user
gains or loses by running fer-bench; against the second it is the runner's own cost, the same
batches read the same way on both sides. Goals: fit and trial ratio at most 1.03 against either,
gradient statistics at most 1.02, no epoch slower than 1.15x its trial's median epoch. The order
alternates per pair.

On a shared virtual machine the same script runs 10-15% faster or slower from one run to the next
(neighbours come and go), which blurs a 3% goal over a handful of pairs. `--side-by-side` runs
fer-bench and one bare script at the same time instead, each pinned to a core of its own (which
core swaps every pair), so that both sides meet the same neighbours: slower than a user's run, but
the ratio then measures the runner's own cost with the host's drift cancelled out. `--threads`
adds each side's CPU seconds per epoch by thread (perf/thread_cpu.py: the Python main thread,
TensorFlow's op threads, tf.data's), to tell which part of a slower side did the extra work.
"""

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from thread_cpu import ThreadWatch  # noqa: E402

from fer_bench.data.source import load_data, resolve_data_path  # noqa: E402
from fer_bench.data.splits import study_splits  # noqa: E402

SPEC = """name: overhead
model:
  params: {{conv_filters: [32, 64, 128], conv_kernels: [3, 3, 3], dense_units: [128]}}
training:
  epochs: {epochs}
  batch_size: 64
  gradient_stats: {stats}
  augmentation: {{horizontal_flip: {flip}}}
  callbacks: {{reduce_lr_on_plateau: {plateau}}}
dataset: {{max_train_samples: {train}, max_eval_samples: {eval}}}
seeds: [{seed}]
"""
SLOW_EPOCH = 1.15
# The bare script as a Keras user writes it (arrays into fit and predict), and with the input
# pipeline fer-bench uses on TensorFlow (so that only the runner's own cost is left in the ratio).
BARE = {"stock": "bare Keras (arrays)", "autotune-off": "bare Keras (autotune off)"}
# ratio name -> what it compares (an epoch list compares by its median)
KINDS = {"trial": "total_s", "fit": "fit_s", "median epoch": "epoch_s", "median epoch CPU": "cpu_s", "process": "wall"}
LABELS = {"ours": "fer-bench", "no_stats": "fer-bench without gradient statistics", **BARE}


def cpu_ticks() -> tuple[int, int]:
    """The machine's CPU time so far, and the part of it stolen by the hypervisor (Linux, else zeros)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0, 0
    return sum(fields), fields[7]


class Run:
    """One side of a pair as a process: started, then finished with its seconds, its output and the share
    of the machine's CPU time that the hypervisor stole meanwhile (on a shared virtual machine a
    neighbour's load slows one side of a pair without a trace in it)."""

    def __init__(self, command: list[str], log: Path, cpu: int | None = None, threads: bool = False):
        self.command, self.log, self.cpu, self.threads = command, log, cpu, threads
        self.watch: ThreadWatch | None = None

    def start(self) -> "Run":
        self.started, self.ticks = time.time(), cpu_ticks()
        # Output to files, not pipes: a side running beside another must never block on a full pipe.
        with self.log.with_suffix(".out").open("w") as out, self.log.with_suffix(".err").open("w") as err:
            pin = None if self.cpu is None else functools.partial(os.sched_setaffinity, 0, {self.cpu})
            self.process = subprocess.Popen(self.command, cwd=REPO, stdout=out, stderr=err, preexec_fn=pin)
        self.created = psutil.Process(self.process.pid).create_time()
        if self.threads:
            self.watch = ThreadWatch(self.process.pid, self.created).start()
        return self

    def finish(self) -> "Run":
        returncode = self.process.wait()
        self.wall, (total, steal) = time.time() - self.started, cpu_ticks()
        if self.watch is not None:
            self.watch.join()
        if returncode != 0:
            sys.exit(f"{' '.join(self.command)} failed:\n{self.log.with_suffix('.err').read_text()[-2000:]}")
        self.stdout = self.log.with_suffix(".out").read_text()
        self.steal = (steal - self.ticks[1]) / max(total - self.ticks[0], 1)
        return self


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="the whole train split, every evaluation image, 5 epochs")
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--eval", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--stats-ratio", action="store_true", help="with --full: also run without gradient statistics")
    parser.add_argument("--bare", default="stock,autotune-off",
                        help="which bare Keras scripts, comma-separated: stock (arrays into fit), autotune-off "
                             "(fer-bench's input pipeline) (default: both)")
    parser.add_argument("--threads", action="store_true",
                        help="also print each side's CPU seconds per epoch by thread (Linux)")
    parser.add_argument("--side-by-side", action="store_true",
                        help="run fer-bench and one bare script at once, each pinned to its own core (default bare: "
                             "autotune-off)")
    args = parser.parse_args()
    if args.side_by_side and args.bare == parser.get_default("bare"):
        args.bare = "autotune-off"
    args.bare = [name.strip() for name in args.bare.split(",") if name.strip()]
    unknown = sorted(set(args.bare) - set(BARE))
    if unknown or not args.bare:
        parser.error(f"--bare: {', '.join(unknown) or 'nothing'} given; allowed: {', '.join(BARE)}")
    if args.side_by_side:
        if len(args.bare) != 1 or args.stats_ratio:
            parser.error("--side-by-side: one --bare script and no --stats-ratio (two sides, one core each)")
        if len(os.sched_getaffinity(0)) < 2:
            parser.error("--side-by-side: needs two cores")
    if args.full:
        args.train = args.eval = None
        args.epochs = 5
    args.quick = not args.full
    args.stats_ratio = args.stats_ratio or (args.quick and not args.side_by_side)
    return args


def main() -> None:
    args = arguments()
    data_path = resolve_data_path(args.data)
    data = load_data(data_path)
    splits = study_splits(data, 1302, 0.3, args.train, args.eval)
    work = Path(tempfile.mkdtemp(prefix="fer-bench-overhead-"))
    arrays = work / "arrays.npz"
    names = {"train": "train", "val": "validation", "public": "public_test", "private": "private_test"}
    np.savez(arrays, **{f"x_{k}": data.pixels[splits[v].indices] for k, v in names.items()},
             **{f"y_{k}": data.labels[splits[v].indices] for k, v in names.items()})
    sizes = ", ".join(f"{k} {len(splits[v].indices)}" for k, v in names.items())
    print(f"data {data.fingerprint}: {sizes}; {args.epochs} epochs, small CNN, "
          f"{'flips and reduce-on-plateau' if args.quick else 'no flips, no reduce-on-plateau'}, "
          f"backend {os.environ['KERAS_BACKEND']}; bare Keras: {', '.join(BARE[b] for b in args.bare)}"
          f"{'; side by side, one core each' if args.side_by_side else ''}", flush=True)
    bare_flags = ["--epochs", str(args.epochs)] + ([] if args.quick else ["--no-flip", "--no-plateau"])
    ratios = {(kind, bare): [] for kind in KINDS for bare in args.bare}
    ratios["gradient"] = []
    slow_epochs = dict.fromkeys(["ours", *args.bare], 0)
    runs = [*args.bare, "ours", "no_stats"] if args.stats_ratio else [*args.bare, "ours"]
    for pair in range(args.pairs):
        specs = {}
        for name, stats in (("ours", "true"), ("no_stats", "false")):
            specs[name] = work / f"{name}{pair}.yaml"
            specs[name].write_text(SPEC.format(
                train="null" if args.train is None else args.train, eval="null" if args.eval is None else args.eval,
                epochs=args.epochs, seed=pair, stats=stats, flip=str(args.quick).lower(),
                plateau="{}" if args.quick else "null"))
        # Alternate who goes first (or, side by side, who gets which core), so that a machine slowly
        # getting busier or quieter, or one busier core, favours neither.
        order = runs if pair % 2 == 0 else runs[::-1]
        cores = sorted(os.sched_getaffinity(0))[:2] if args.side_by_side else [None]
        commands = {name: bare_command(arrays, pair, bare_flags, name) if name in BARE
                    else spec_command(specs[name], work / f"{name}-results{pair}", data_path) for name in order}
        finished = run_sides(commands, work, pair, cores, args.threads)
        done = {name: read_bare(finished[name]) if name in BARE
                else read_spec(finished[name], work / f"{name}-results{pair}") for name in order}
        ours = done["ours"]
        gradient = ""
        if "no_stats" in done:
            ratios["gradient"].append(ours["total_s"] / done["no_stats"]["total_s"])
            gradient = f"; gradient statistics x{ratios['gradient'][-1]:.3f}"
        arrangement = ", ".join(f"{LABELS[n]} on CPU {cpu}" for n, cpu in zip(order, cores)) if args.side_by_side \
            else f"in this order: {', '.join(LABELS[n] for n in order)}"
        print(f"pair {pair + 1} ({arrangement}): fer-bench trial "
              f"{ours['total_s']:.2f}s, fit {ours['fit_s']:.2f}s, process {ours['wall']:.2f}s{gradient}", flush=True)
        for bare_name in args.bare:
            bare = done[bare_name]
            for kind, key in KINDS.items():
                ratios[kind, bare_name].append(measure(ours, key) / measure(bare, key))
            shown = ", ".join(f"{kind} x{ratios[kind, bare_name][-1]:.3f}" for kind in KINDS)
            same = ours["accuracy"] == bare["accuracy"]
            print(f"  against {BARE[bare_name]} (trial {bare['total_s']:.2f}s, fit {bare['fit_s']:.2f}s): {shown}; "
                  f"test scores {'identical' if same else 'DIFFER (not the same training)'}", flush=True)
        for side in ("ours", *args.bare):
            run, epochs = done[side], done[side]["epoch_s"]
            worst = max(epochs) / statistics.median(epochs)
            slow_epochs[side] += worst > SLOW_EPOCH
            # Against the fastest too: when most epochs of a trial are slow, the median is a slow one.
            # fit outside its epochs: a wait between the last epoch and fit's return shows only there.
            print(f"  epochs {LABELS[side]:25}: {' '.join(f'{s:.1f}' for s in epochs)} s; slowest "
                  f"x{worst:.2f} of the median, x{max(epochs) / min(epochs):.2f} of the fastest; "
                  f"fit outside its epochs {run['fit_s'] - sum(epochs):.1f} s; CPU stolen {100 * run['steal']:.1f}%",
                  flush=True)
            print(f"  {'CPU seconds':32}: {' '.join(f'{s:.1f}' for s in run['cpu_s'])}", flush=True)
            if args.threads:
                for thread, seconds in finished[side].watch.per_epoch(run["epoch_ends"], epochs).items():
                    print(f"    {thread:30}: {' '.join(f'{s:.1f}' for s in seconds)}", flush=True)
    for bare_name in args.bare:
        for kind in KINDS:
            print(f"{kind} ratio fer-bench / {BARE[bare_name]}: {summary(ratios[kind, bare_name])}")
    if ratios["gradient"]:
        print(f"gradient statistics ratio, with / without: {summary(ratios['gradient'])}")
    print(f"trials with an epoch over {SLOW_EPOCH}x their median epoch: "
          + ", ".join(f"{LABELS[side]} {count} of {args.pairs}" for side, count in slow_epochs.items()))


def run_sides(commands: dict[str, list[str]], logs: Path, pair: int, cores: list, threads: bool) -> dict[str, Run]:
    """The sides of a pair in the order given, one after another; side by side (a core for each),
    all at once."""
    finished = {}
    for batch in [list(commands)] if cores[0] is not None else [[name] for name in commands]:
        running = {name: Run(commands[name], logs / f"{name}{pair}", cpu, threads).start()
                   for name, cpu in zip(batch, cores)}
        finished.update({name: run.finish() for name, run in running.items()})
    return finished


def measure(run: dict, key: str) -> float:
    """A run's seconds by name; the epoch lists by their median."""
    value = run[key]
    return statistics.median(value) if isinstance(value, list) else value


def bare_command(arrays: Path, seed: int, flags: list[str], name: str) -> list[str]:
    extra = ["--autotune-off"] if name == "autotune-off" else []
    return [sys.executable, "perf/bare_keras.py", str(arrays), str(seed), *flags, *extra]


def read_bare(run: Run) -> dict:
    bare = json.loads(run.stdout.strip().splitlines()[-1])
    return {"wall": run.wall, "steal": run.steal, "total_s": bare["total_s"], "fit_s": bare["fit_s"],
            "epoch_s": bare["epoch_s"], "cpu_s": bare["epoch_cpu_s"], "accuracy": bare["accuracy"],
            "epoch_ends": [at - run.created for at in bare["epoch_end_at"]]}


def spec_command(spec: Path, out: Path, data_path) -> list[str]:
    return [sys.executable, "-m", "fer_bench", "run", str(spec), "--data", str(data_path), "--out", str(out), "--quiet"]


def read_spec(run: Run, out: Path) -> dict:
    """One fer-bench trial's record, in the same shape as read_bare's."""
    (path,) = out.glob("overhead/*/record.json")
    record = json.loads(path.read_text())
    history = record["history"]
    return {"wall": run.wall, "steal": run.steal, "total_s": record["timing"]["total_s"],
            "fit_s": record["timing"]["fit_s"], "epoch_s": [h["time_s"] for h in history],
            "cpu_s": [h["cpu_s"] for h in history], "epoch_ends": [h["since_process_start_s"] for h in history],
            "accuracy": {split: record["best_metrics"][f"{split}_test_accuracy"] for split in ("public", "private")}}


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
