"""`fer-bench run SPECS`: train every trial of the specs into records, here or spread over machines."""

import argparse
import contextlib
import json
import os
import platform
import sys
from pathlib import Path

from fer_bench.cli.arguments import add_trial_flags, overrides, port, positive
from fer_bench.errors import UserError

NAME, HELP = "run", "train every trial of the specs and write one record each"


def add_arguments(run) -> None:
    add_trial_flags(run)
    run.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    run.add_argument("--rerun", action="store_true", help="redo trials that already have a record")
    run.add_argument("--quiet", action="store_true", help="only the final summary")
    run.add_argument("--tensorboard", action="store_true",
                     help="also write TensorBoard logs into each trial's folder (TensorFlow backend)")
    run.add_argument("--wandb", nargs="?", const="offline", choices=("offline", "online"), metavar="MODE",
                     help="also stream each trial to Weights & Biases as it trains: offline (the default: run "
                          "folders under ./wandb to `wandb sync` later) or online; project $WANDB_PROJECT or "
                          "fer-bench (needs fer-bench[wandb])")
    run.add_argument("--no-compile-cache", action="store_true",
                     help="JAX: compile every program afresh instead of loading it from the persistent compilation "
                          "cache in fer-bench's cache folder (the same as FER_BENCH_COMPILE_CACHE=off)")
    run.add_argument("--params", metavar="FILE",
                     help="train one proposal of the spec's search: a JSON object giving each search.space key a "
                          "value (what a W&B sweep agent writes; see `fer-bench wandb --sweep-config`)")
    local = run.add_argument_group("every device of this machine")
    local.add_argument("--workers", type=positive, metavar="N",
                       help="N processes on one results folder, sharing the trials (a search through a chief on "
                            "loopback); on a CPU each gets its share of the cores")
    local.add_argument("--devices", type=device_list, metavar="0,1,...",
                       help="one worker per GPU, each seeing only its card (CUDA_VISIBLE_DEVICES)")
    spread = run.add_argument_group("spread over machines (Keras Tuner chief/worker over gRPC)")
    role = spread.add_mutually_exclusive_group()
    role.add_argument("--chief", action="store_true", help="hand the specs' trials to workers; train none here")
    role.add_argument("--worker", action="store_true", help="train the trials a chief hands out")
    spread.add_argument("--host", default="0.0.0.0",  # noqa: S104 - workers on other machines must reach it
                        help="chief: address to listen on (default: all; the protocol is unauthenticated)")
    spread.add_argument("--port", type=port, metavar="N", help="chief: port to listen on")
    spread.add_argument("--lease", type=positive, metavar="S", default=60,
                        help="chief: seconds a silent worker keeps its trial before another gets it (default: 60)")
    spread.add_argument("--chief-address", metavar="HOST:PORT", help="worker: where the chief listens")
    spread.add_argument("--worker-id", metavar="ID",
                        help="worker: its name (default: host-pid); back with the same id, it resumes its trial")
    spread.add_argument("--connect-timeout", type=positive, metavar="S", default=120,
                        help="worker: seconds to wait for the chief before giving up (default: 120)")


def execute(args, argv) -> int:
    if args.no_compile_cache:  # in the environment, so that workers started from here see it too
        from fer_bench.training.compile_cache import ENV_VAR

        os.environ[ENV_VAR] = "off"
    stray = sorted(k for k in os.environ if k.startswith("KERASTUNER_"))
    if stray:  # they switch a Keras Tuner Tuner into distributed mode; fer-bench uses oracles and its own flags
        print(f"warning: ignoring {', '.join(stray)}: fer-bench spreads work with --chief and --worker",
              file=sys.stderr)
    if args.params and (args.chief or args.worker):
        raise UserError("fer-bench run: --params trains one proposal here; it does not go with --chief or --worker")
    if args.chief and args.wandb:
        raise UserError("fer-bench run --chief: --wandb belongs on the workers, which train (the chief trains none)")
    if args.workers or args.devices:
        return _workers(args, argv)
    if args.chief:
        return _chief(args)
    if args.worker:
        return _worker(args, argv)
    for flag in ("port", "chief_address", "worker_id"):
        if getattr(args, flag) is not None:
            raise UserError(f"fer-bench run: --{flag.replace('_', '-')} needs --chief or --worker")
    from fer_bench.scheduling.local import run_specs

    with _tracker(args) as tracker:
        return run_specs(args.specs, args.data, overrides(args), Path(args.out), args.device, args.rerun, args.quiet,
                         command=["fer-bench", *argv], only=args.only, tensorboard=args.tensorboard,
                         tracker=tracker, proposal=_proposal(args.params)).code


def device_list(text: str) -> list[str]:
    devices = [d.strip() for d in text.split(",")]
    if not all(d.isdigit() for d in devices) or len(set(devices)) != len(devices):
        raise argparse.ArgumentTypeError(f"expected distinct device numbers such as 0,1,2, got {text!r}")
    return devices


def _workers(args, argv) -> int:
    for flag in ("chief", "worker", "params"):
        if getattr(args, flag):
            raise UserError(f"fer-bench run --workers: it starts its own workers; it does not go with --{flag}")
    from fer_bench.distributed.local_workers import run_workers
    from fer_bench.spec.load import load_spec

    searching = any(load_spec(Path(p)).spec.search is not None for p in args.specs)
    return run_workers(argv, args.workers, args.devices, searching, args.rerun)


def _chief(args) -> int:
    if args.port is None:
        raise UserError("fer-bench run --chief: give --port N (0 picks a free one)")
    if args.rerun:
        raise UserError("fer-bench run --chief: --rerun is not spread to workers; retrain into a fresh --out "
                        "or remove the records first (fer-bench clean)")
    from fer_bench.distributed.launch import run_chief

    return run_chief(args.specs, args.data, overrides(args), Path(args.out), args.rerun, args.host, args.port,
                     args.lease, args.only)


def _worker(args, argv) -> int:
    if args.only:
        raise UserError("fer-bench run --worker: --only belongs on the chief, which chooses the trials")
    if not args.chief_address:
        raise UserError("fer-bench run --worker: give --chief-address HOST:PORT")
    from fer_bench.distributed.launch import run_worker

    worker_id = args.worker_id or f"{platform.node()}-{os.getpid()}"
    with _tracker(args) as tracker:
        return run_worker(args.specs, args.data, overrides(args), Path(args.out), args.device, args.chief_address,
                          worker_id, args.connect_timeout, args.quiet, command=["fer-bench", *argv],
                          tensorboard=args.tensorboard, tracker=tracker)


@contextlib.contextmanager
def _tracker(args):
    """`--wandb`: the run's tracker, closed when the run ends however it ends; else None."""
    if not args.wandb:
        yield None
        return
    from fer_bench.trackers.wandb_runs import WandbTarget
    from fer_bench.trackers.wandb_stream import WandbStream

    tracker = WandbStream(WandbTarget(os.environ.get("WANDB_PROJECT") or "fer-bench", os.environ.get("WANDB_ENTITY"),
                                      args.wandb))
    try:
        yield tracker
    finally:
        tracker.close()


def _proposal(path: str | None) -> tuple[str, dict] | None:
    """`--params FILE`: the file's name (for errors) and its JSON object."""
    if path is None:
        return None
    try:
        return path, json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"--params {path}: cannot read it ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise UserError(f"--params {path}: not JSON ({str(exc).splitlines()[0]}); give an object such as "
                        '{"model.params.dropout": 0.25}') from None
