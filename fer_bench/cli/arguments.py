"""What the verbs share: the parser that turns mistakes into one line, flag types, the trial flags."""

import argparse
import contextlib
from pathlib import Path

from fer_bench.errors import UserError
from fer_bench.spec.trials import LOOPS, PRECISIONS, SWITCH, override_problem


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(f"{self.prog}: {message} (see {self.prog} --help)")


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def points(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected points of accuracy, e.g. 0.5, got {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected 0 to 100 points, got {text!r}")
    return value / 100


def together(text: str) -> int | str:
    value = int(text) if text.isdigit() else text
    if allowed := override_problem("together", value):
        raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}")
    return value


def port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return int(text)


def add_trial_flags(p: argparse.ArgumentParser) -> None:
    """The flags of the verbs that plan trials (run, list): specs, data, results and overrides."""
    p.add_argument("specs", nargs="+", metavar="SPEC", help="spec files (YAML)")
    p.add_argument("--data", metavar="PATH", help="FER-2013 as .csv, .csv.gz, .npz or a folder tree")
    p.add_argument("--out", metavar="DIR", default="results", help="results directory (default: results)")
    p.add_argument("--epochs", type=positive, metavar="N", help="override training.epochs")
    p.add_argument("--max-train-samples", type=positive, metavar="N", help="stratified subset of the train split")
    p.add_argument("--max-eval-samples", type=positive, metavar="N",
                   help="stratified subset of validation, PublicTest and PrivateTest each")
    p.add_argument("--seeds", type=positive, metavar="N", help="run seeds 0..N-1 instead of the spec's")
    p.add_argument("--trial-timeout", type=positive, metavar="S",
                   help="override training.timeout_s: stop a trial's training after S seconds (status timeout)")
    p.add_argument("--budget", type=positive, metavar="S",
                   help="override training.budget_s: train only the epochs that fit in S seconds, then score")
    p.add_argument("--loop", choices=LOOPS,
                   help="override training.loop: device keeps the data on the accelerator, an epoch per call (JAX)")
    p.add_argument("--together", type=together, metavar="N|auto|off",
                   help="override training.together: train up to N trials of one model shape as one compiled "
                        "program (loop: device, JAX); auto: on an accelerator only; off: one at a time")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="override training.mixed_precision: auto is bfloat16 where the device computes it "
                        "natively (a CPU with AMX-BF16 or AVX512_BF16 on TensorFlow, an NVIDIA GPU of compute "
                        "capability 8.0 or later), float32 elsewhere")
    p.add_argument("--corruptions", choices=SWITCH,
                   help="override training.corruptions: on also scores the final weights on FER-2013-C, PublicTest "
                        "under 18 corruptions at 5 severities (docs/robustness.md)")
    p.add_argument("--max-trials", type=positive, metavar="N",
                   help="searches: each strategy proposes at most N trials (grid: its first N points); "
                        "a later run without it goes on from there")
    p.add_argument("--search-seed", type=positive, metavar="N",
                   help="searches: override search.seed, the random and Bayesian oracles' seed; runs with several "
                        "seeds into one results folder give the report the spread of each strategy over seeds")
    p.add_argument("--only", metavar="PATTERN",
                   help="a subset: trial ids matching this glob (sweeps), strategies matching it (searches)")
    add_model_file(p)


def add_model_file(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-file", action="append", metavar="FILE.py",
                   help="builders from a local Python file, for this command only: its MODELS dict (name -> "
                        "function of the spec's model.params) and module-level fer_bench.Builders; the file runs "
                        "as Python (docs/api.md)")


@contextlib.contextmanager
def model_files(paths: list[str] | None):
    """The builders of `--model-file` files, known by name while the command runs."""
    if not paths:
        yield
        return
    from fer_bench.models import BUILDERS
    from fer_bench.models.sources import load_model_file

    builders = [builder for path in paths for builder in load_model_file(Path(path))]
    with BUILDERS.registered(builders, f"--model-file {' '.join(paths)}"):
        yield


def overrides(args):
    """The trial flags as the spec overrides they are."""
    from fer_bench.spec.trials import Overrides

    return Overrides(args.epochs, args.max_train_samples, args.max_eval_samples, args.seeds, args.trial_timeout,
                     args.budget, args.loop, args.max_trials, args.precision, args.search_seed, args.together,
                     args.corruptions)
