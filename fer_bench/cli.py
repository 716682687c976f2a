"""fer-bench command line: one small function per verb; user mistakes become one line and exit 2.

Keras and TensorFlow are imported only by the verbs that train, so the others answer at once.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from fer_bench import __version__
from fer_bench.errors import FerBenchError, UserError

EXIT_OK, EXIT_USER, EXIT_INTERRUPTED = 0, 2, 130  # 1 (write errors) and 3 (failed trials) come from below


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _points(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected points of accuracy, e.g. 0.5, got {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected 0 to 100 points, got {text!r}")
    return value / 100


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return int(text)


def _add_trial_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("specs", nargs="+", metavar="SPEC", help="spec files (YAML)")
    p.add_argument("--data", metavar="PATH", help="FER-2013 as .csv, .csv.gz, .npz or a folder tree")
    p.add_argument("--out", metavar="DIR", default="results", help="results directory (default: results)")
    p.add_argument("--epochs", type=_positive, metavar="N", help="override training.epochs")
    p.add_argument("--max-train-samples", type=_positive, metavar="N", help="stratified subset of the train split")
    p.add_argument("--max-eval-samples", type=_positive, metavar="N",
                   help="stratified subset of validation, PublicTest and PrivateTest each")
    p.add_argument("--seeds", type=_positive, metavar="N", help="run seeds 0..N-1 instead of the spec's")
    p.add_argument("--trial-timeout", type=_positive, metavar="S",
                   help="override training.timeout_s: stop a trial's training after S seconds (status timeout)")
    p.add_argument("--budget", type=_positive, metavar="S",
                   help="override training.budget_s: train only the epochs that fit in S seconds, then score")
    p.add_argument("--only", metavar="PATTERN",
                   help="a subset: trial ids matching this glob (sweeps), strategies matching it (searches)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fer-bench", description="Declarative, repeatable FER-2013 benchmarks.")
    parser.add_argument("--version", action="version", version=f"fer-bench {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", parser_class=_Parser)
    run = verbs.add_parser("run", help="train every trial of the specs and write one record each")
    _add_trial_flags(run)
    run.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    run.add_argument("--rerun", action="store_true", help="redo trials that already have a record")
    run.add_argument("--quiet", action="store_true", help="only the final summary")
    run.add_argument("--tensorboard", action="store_true",
                     help="also write TensorBoard logs into each trial's folder (TensorFlow backend)")
    spread = run.add_argument_group("spread over machines (Keras Tuner chief/worker over gRPC)")
    role = spread.add_mutually_exclusive_group()
    role.add_argument("--chief", action="store_true", help="hand the specs' trials to workers; train none here")
    role.add_argument("--worker", action="store_true", help="train the trials a chief hands out")
    spread.add_argument("--host", default="0.0.0.0",  # noqa: S104 - workers on other machines must reach it
                        help="chief: address to listen on (default: all; the protocol is unauthenticated)")
    spread.add_argument("--port", type=_port, metavar="N", help="chief: port to listen on")
    spread.add_argument("--lease", type=_positive, metavar="S", default=60,
                        help="chief: seconds a silent worker keeps its trial before another gets it (default: 60)")
    spread.add_argument("--chief-address", metavar="HOST:PORT", help="worker: where the chief listens")
    spread.add_argument("--worker-id", metavar="ID",
                        help="worker: its name (default: host-pid); back with the same id, it resumes its trial")
    spread.add_argument("--connect-timeout", type=_positive, metavar="S", default=120,
                        help="worker: seconds to wait for the chief before giving up (default: 120)")
    listing = verbs.add_parser("list", help="dry run: every trial with its size and estimated time")
    _add_trial_flags(listing)
    validate = verbs.add_parser("validate", help="check specs and every trial they expand to")
    validate.add_argument("specs", nargs="+", metavar="SPEC")
    data = verbs.add_parser("data", help="describe the data set: source, fingerprint, counts per split")
    data.add_argument("--data", metavar="PATH")
    data.add_argument("--json", action="store_true", help="one JSON object on stdout")
    data.add_argument("--audit", action="store_true",
                      help="also find duplicates across splits, label conflicts and blank images")
    report = verbs.add_parser("report", help="render all records into an HTML or Markdown report")
    report.add_argument("results", nargs="+", metavar="RESULTS", help="results directories (merged)")
    report.add_argument("-o", "--output", required=True, metavar="FILE", help="report.html or report.md")
    report.add_argument("--export", metavar="FILE", help="also write the trials table as .csv or .parquet")
    evaluate = verbs.add_parser("evaluate", help="score a saved Keras model; writes an ordinary record")
    evaluate.add_argument("model", metavar="MODEL", help="a saved model (.keras or .h5), e.g. a run's best.keras")
    evaluate.add_argument("--data", metavar="PATH", help="FER-2013 as .csv, .csv.gz, .npz or a folder tree")
    evaluate.add_argument("--out", metavar="DIR", default="results", help="results directory (default: results)")
    evaluate.add_argument("--name", default="evaluate", help="the spec name its record goes under (default: evaluate)")
    evaluate.add_argument("--max-eval-samples", type=_positive, metavar="N",
                          help="stratified subset of validation, PublicTest and PrivateTest each")
    evaluate.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    compare = verbs.add_parser("compare", help="what moved beyond noise between two result sets; exit 5 on a "
                               "regression")
    compare.add_argument("base", metavar="BASE", help="results directory or exported trials table (.csv/.parquet)")
    compare.add_argument("candidate", metavar="CANDIDATE")
    compare.add_argument("--threshold", type=_points, default=0.0, metavar="POINTS",
                         help="count a drop beyond noise as a regression only from this many points (default 0)")
    compare.add_argument("--speed", action="store_true", help="also compare training images/s (not gated)")
    compare.add_argument("-o", "--output", metavar="FILE", help="also write compare.html or compare.md")
    clean = verbs.add_parser("clean", help="list (and with --yes remove) records that no current spec would make")
    clean.add_argument("results", metavar="RESULTS")
    clean.add_argument("--spec", action="append", default=[], metavar="FILE",
                       help="the current spec of its records (default: the file each record names, else the shipped "
                            "spec of that name)")
    clean.add_argument("--yes", action="store_true", help="remove them")
    clean.add_argument("--orphans", action="store_true",
                       help="with --yes, also remove records whose spec is found nowhere")
    tracker = verbs.add_parser("mlflow", help="export every record as an MLflow run (needs fer-bench[mlflow])")
    tracker.add_argument("results", nargs="+", metavar="RESULTS")
    tracker.add_argument("--tracking-uri", default="sqlite:///mlflow.db", metavar="URI",
                         help="MLflow tracking store (default: sqlite:///mlflow.db, a local SQLite file)")
    tracker.add_argument("--experiment", default="fer-bench", help="experiment name (default: fer-bench)")
    status = verbs.add_parser("status", help="trials complete, diverged, failed and pending per spec")
    status.add_argument("results", nargs="+", metavar="RESULTS")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        if not args.verb:
            build_parser().print_help()
            return EXIT_USER
        return COMMANDS[args.verb](args, argv)
    except FerBenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: every finished trial is recorded; run the same command again to continue",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `fer-bench data | head`: the reader is gone, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _overrides(args):
    from fer_bench.spec import Overrides

    return Overrides(args.epochs, args.max_train_samples, args.max_eval_samples, args.seeds, args.trial_timeout,
                     args.budget)


def cmd_validate(args, argv) -> int:
    from fer_bench.spec import Overrides, describe_trials, load_spec

    for path in args.specs:
        loaded = load_spec(Path(path))
        print(f"ok: {path}: {loaded.spec.name}, {describe_trials(loaded, Overrides())}")
    return EXIT_OK


def cmd_list(args, argv) -> int:
    from fer_bench.plan import plan_specs, print_plan

    print_plan(plan_specs(args.specs, args.data, _overrides(args), args.only), Path(args.out))
    return EXIT_OK


def cmd_run(args, argv) -> int:
    from fer_bench import session

    stray = sorted(k for k in os.environ if k.startswith("KERASTUNER_"))
    if stray:  # they switch a Keras Tuner Tuner into distributed mode; fer-bench uses oracles and its own flags
        print(f"warning: ignoring {', '.join(stray)}: fer-bench spreads work with --chief and --worker",
              file=sys.stderr)
    if args.chief:
        if args.port is None:
            raise UserError("fer-bench run --chief: give --port N (0 picks a free one)")
        if args.rerun:
            raise UserError("fer-bench run --chief: --rerun is not spread to workers; retrain into a fresh --out "
                            "or remove the records first (fer-bench clean)")
        return session.run_chief(args.specs, args.data, _overrides(args), Path(args.out), args.rerun, args.host,
                                 args.port, args.lease, args.only)
    if args.worker:
        if args.only:
            raise UserError("fer-bench run --worker: --only belongs on the chief, which chooses the trials")
        if not args.chief_address:
            raise UserError("fer-bench run --worker: give --chief-address HOST:PORT")
        worker_id = args.worker_id or f"{platform.node()}-{os.getpid()}"
        return session.run_worker(args.specs, args.data, _overrides(args), Path(args.out), args.device,
                                  args.chief_address, worker_id, args.connect_timeout, args.quiet,
                                  command=["fer-bench", *argv], tensorboard=args.tensorboard)
    for flag in ("port", "chief_address", "worker_id"):
        if getattr(args, flag) is not None:
            raise UserError(f"fer-bench run: --{flag.replace('_', '-')} needs --chief or --worker")
    return session.run_specs(args.specs, args.data, _overrides(args), Path(args.out), args.device, args.rerun,
                             args.quiet, command=["fer-bench", *argv], only=args.only,
                             tensorboard=args.tensorboard)


def cmd_data(args, argv) -> int:
    from fer_bench.datasource import load_data, resolve_data_path
    from fer_bench.splits import describe_splits, sanity_warnings, study_splits

    started = time.time()
    data = load_data(resolve_data_path(args.data))
    from fer_bench.spec import DatasetSpec

    defaults = DatasetSpec()
    splits = study_splits(data, defaults.split_seed, defaults.validation_fraction)
    summary = describe_splits(data, splits)
    warnings = sanity_warnings(summary)
    report = {**data.describe(), "split_seed": defaults.split_seed,
              "validation_fraction": defaults.validation_fraction, "splits": summary, "warnings": warnings,
              "load_s": round(time.time() - started, 3), "from_cache": data.from_cache}
    if args.audit:
        from fer_bench.audit import load_audit
        from fer_bench.audit import summarize as summarize_audit

        audit_started = time.time()
        audit = load_audit(data)
        report["audit"] = {**summarize_audit(audit, data, splits["train"].indices, splits["validation"].indices),
                           "seconds": round(time.time() - audit_started, 2), "from_cache": audit["from_cache"]}
    if args.json:
        print(json.dumps(report))
        return EXIT_OK
    from fer_bench.data import EMOTIONS

    print(f"source       {report['source']}: {report['path']} ({report['format']})")
    print(f"fingerprint  {report['fingerprint']}")
    print(f"loaded in    {report['load_s']:.2f}s ({'cache' if data.from_cache else 'parsed, now cached'})")
    print(f"\n{'split':<13}{'n':>7}  " + " ".join(f"{e[:8]:>8}" for e in EMOTIONS) + "   mean    std")
    for name, row in summary.items():
        counts = " ".join(f"{c:>8}" for c in row["class_counts"])
        print(f"{name:<13}{row['n']:>7}  {counts}  {row['pixel_mean']:>5.1f}  {row['pixel_std']:>5.1f}")
    if args.audit:
        _print_audit(report["audit"])
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def _print_audit(audit: dict) -> None:
    print(f"\naudit        copies: root-mean-square difference <= {audit['threshold_rms']:g} grey levels "
          f"({audit['seconds']:.1f}s{', cached' if audit['from_cache'] else ''})")
    print(f"pairs        {audit['exact_pairs']} exact, {audit['near_pairs']} near-exact, in {audit['groups']} groups "
          f"({audit['groups_across_splits']} across splits)")
    print(f"conflicts    {audit['conflicting_label_groups']} groups of copies carry different emotions")
    print("blank        " + ", ".join(f"{n} {u}" for u, n in audit["blank_images"].items()))
    for name in ("PublicTest", "PrivateTest"):
        s = audit[name]
        print(f"{name:<13}{s['with_copy_in_training']} of {s['n']} ({100 * s['with_copy_in_training'] / s['n']:.1f}%) "
              f"have a copy in Training ({s['with_copy_in_train_split']} in train, "
              f"{s['with_copy_in_validation_split']} in validation)")
    v = audit["validation"]
    print(f"validation   {v['with_copy_in_train_split']} of {v['n']} have a copy in train")


def cmd_report(args, argv) -> int:
    from fer_bench.report.render import render_report

    started = time.time()
    output = render_report(args.results, Path(args.output))
    print(f"report: {output} ({time.time() - started:.1f}s)")
    if args.export:
        from fer_bench.report.export import export_trials

        print(f"trials table: {export_trials(args.results, Path(args.export))}")
    return EXIT_OK


def cmd_evaluate(args, argv) -> int:
    from fer_bench.evaluate import evaluate_saved

    record = evaluate_saved(Path(args.model), args.data, Path(args.out), args.name, args.max_eval_samples,
                            args.device, ["fer-bench", *argv])
    m = record["metrics"]
    print(f"{args.model}: validation {m['val_accuracy']:.4f}, PublicTest {m['public_test_accuracy']:.4f}, "
          f"PrivateTest {m['private_test_accuracy']:.4f}; record in {Path(args.out) / args.name / record['trial_id']}")
    return EXIT_OK


def cmd_compare(args, argv) -> int:
    from fer_bench.compare import EXIT_REGRESSION, compare, load_side, print_rows, write_page

    base, candidate = Path(args.base), Path(args.candidate)
    rows = compare(load_side(base), load_side(candidate), args.threshold, args.speed)
    print_rows(rows, base, candidate, args.threshold)
    if args.output:
        print(f"comparison: {write_page(rows, Path(args.output), base, candidate, args.threshold)}")
    regressions = [r for r in rows if r.gate]
    if regressions:
        print(f"{len(regressions)} regression{'s' if len(regressions) > 1 else ''} beyond noise", file=sys.stderr)
        return EXIT_REGRESSION
    return EXIT_OK


def cmd_clean(args, argv) -> int:
    from fer_bench.clean import find_stale, remove

    root = Path(args.results)
    stale = find_stale(root, args.spec)
    if not stale:
        print(f"{root}: every record is one that a current spec makes; nothing to clean")
        return EXIT_OK
    for entry in stale:
        print(f"{'orphan' if entry['orphan'] else 'stale':<7}{entry['spec']}/{entry['trial_id']}: {entry['reason']}")
    size = sum(e["bytes"] for e in stale) / 2**20
    if not args.yes:
        print(f"{len(stale)} records ({size:.1f} MiB) that no current spec makes; `fer-bench clean {root} --yes` "
              "removes them" + (" (--orphans: the orphans too)" if any(e["orphan"] for e in stale) else ""))
        return EXIT_OK
    print(f"removed {remove(root, stale, args.orphans)} records")
    return EXIT_OK


def cmd_mlflow(args, argv) -> int:
    from fer_bench.trackers import export_mlflow

    created, skipped = export_mlflow(args.results, args.tracking_uri, args.experiment)
    print(f"mlflow: {created} runs exported to {args.tracking_uri} (experiment {args.experiment!r}), "
          f"{skipped} already there")
    return EXIT_OK


def cmd_status(args, argv) -> int:
    from fer_bench.records import status_table

    for root in args.results:
        table = status_table(Path(root))
        if not table:
            print(f"{root}: no trials recorded yet")
        for spec, rows in table.items():
            counts = ", ".join(f"{len(ids)} {status}" for status, ids in rows.items())
            print(f"{root}/{spec}: {counts}")
            for status in ("failed", "diverged", "timeout", "pending"):
                for trial_id in rows[status]:
                    print(f"  {status:<9}{trial_id}")
    return EXIT_OK


COMMANDS = {"run": cmd_run, "list": cmd_list, "validate": cmd_validate, "data": cmd_data, "status": cmd_status,
            "report": cmd_report, "evaluate": cmd_evaluate, "compare": cmd_compare,
            "clean": cmd_clean, "mlflow": cmd_mlflow}
