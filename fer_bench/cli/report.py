"""`fer-bench report RESULTS -o FILE`: every record rendered into one HTML or Markdown report."""

import time
from pathlib import Path

from fer_bench.errors import EXIT_OK
from fer_bench.report.labels import SCORES

NAME, HELP = "report", "render all records into an HTML or Markdown report"


def add_arguments(parser) -> None:
    parser.add_argument("results", nargs="+", metavar="RESULTS", help="results directories (merged)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="report.html or report.md")
    parser.add_argument("--export", metavar="FILE", help="also write the trials table as .csv or .parquet")
    parser.add_argument("--metric", default="accuracy", choices=SCORES, metavar="SCORE",
                        help=f"what the verdicts and each spec's best variant go by, per split: {', '.join(SCORES)} "
                             "(default accuracy; the calibration errors and losses: lower is better)")


def execute(args, argv) -> int:
    from fer_bench.report import report

    started = time.time()
    output = report(args.results, args.output, export=args.export, metric=args.metric)
    print(f"report: {output} ({time.time() - started:.1f}s)")
    if args.export:
        print(f"trials table: {Path(args.export)}")
    return EXIT_OK
