"""`fer-bench compare BASE CANDIDATE`: what moved beyond noise; exit 5 on a regression (a CI gate)."""

import sys
from pathlib import Path

from fer_bench.cli.arguments import points
from fer_bench.errors import EXIT_OK
from fer_bench.report.labels import SCORES

NAME, HELP = "compare", "what moved beyond noise between two result sets; exit 5 on a regression"


def add_arguments(parser) -> None:
    parser.add_argument("base", metavar="BASE", help="results directory or exported trials table (.csv/.parquet)")
    parser.add_argument("candidate", metavar="CANDIDATE")
    parser.add_argument("--threshold", type=points, default=0.0, metavar="POINTS",
                        help="count a drop beyond noise as a regression only from this many points (default 0)")
    parser.add_argument("--speed", action="store_true", help="also compare training images/s (not gated)")
    parser.add_argument("--metric", default="accuracy", choices=SCORES, metavar="SCORE",
                        help="what is compared and gated, per split: accuracy (default), balanced_accuracy, macro_f1, "
                             "nll, brier, ece, ece_scaled (the last four: lower is better)")
    parser.add_argument("-o", "--output", metavar="FILE", help="also write compare.html or compare.md")


def execute(args, argv) -> int:
    from fer_bench.report.compare import EXIT_REGRESSION, compare, load_side, print_rows, write_page

    base, candidate = Path(args.base), Path(args.candidate)
    rows = compare(load_side(base), load_side(candidate), args.threshold, args.speed, args.metric)
    print_rows(rows, base, candidate, args.threshold, args.metric)
    if args.output:
        print(f"comparison: {write_page(rows, Path(args.output), base, candidate, args.threshold)}")
    regressions = [r for r in rows if r.gate]
    if regressions:
        print(f"{len(regressions)} regression{'s' if len(regressions) > 1 else ''} beyond noise", file=sys.stderr)
        return EXIT_REGRESSION
    return EXIT_OK
