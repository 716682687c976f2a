"""`fer-bench evaluate MODEL`: score a saved Keras model like a trial; writes an ordinary record."""

from pathlib import Path

from fer_bench.cli.arguments import positive
from fer_bench.errors import EXIT_OK

NAME, HELP = "evaluate", "score a saved Keras model; writes an ordinary record"


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a saved model (.keras or .h5), e.g. a run's best.keras")
    parser.add_argument("--data", metavar="PATH", help="FER-2013 as .csv, .csv.gz, .npz or a folder tree")
    parser.add_argument("--out", metavar="DIR", default="results", help="results directory (default: results)")
    parser.add_argument("--name", default="evaluate", help="the spec name its record goes under (default: evaluate)")
    parser.add_argument("--max-eval-samples", type=positive, metavar="N",
                        help="stratified subset of validation, PublicTest and PrivateTest each")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    parser.add_argument("--corruptions", choices=("on", "off"), default="off",
                        help="on: also score PublicTest's corrupted copies, FER-2013-C (docs/robustness.md)")


def execute(args, argv) -> int:
    from fer_bench.training.saved_model import evaluate_saved

    record = evaluate_saved(Path(args.model), args.data, Path(args.out), args.name, args.max_eval_samples,
                            args.device, ["fer-bench", *argv], args.corruptions == "on")
    m = record["metrics"]
    print(f"{args.model}: validation {m['val_accuracy']:.4f}, PublicTest {m['public_test_accuracy']:.4f}, "
          f"PrivateTest {m['private_test_accuracy']:.4f}; record in {Path(args.out) / args.name / record['trial_id']}")
    return EXIT_OK
