"""`fer-bench mlflow RESULTS`: every record as an MLflow run (needs fer-bench[mlflow])."""

from fer_bench.errors import EXIT_OK

NAME, HELP = "mlflow", "export every record as an MLflow run (needs fer-bench[mlflow])"


def add_arguments(parser) -> None:
    parser.add_argument("results", nargs="+", metavar="RESULTS")
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db", metavar="URI",
                        help="MLflow tracking store (default: sqlite:///mlflow.db, a local SQLite file)")
    parser.add_argument("--experiment", default="fer-bench", help="experiment name (default: fer-bench)")


def execute(args, argv) -> int:
    from fer_bench.trackers.mlflow import export_mlflow

    created, skipped = export_mlflow(args.results, args.tracking_uri, args.experiment)
    print(f"mlflow: {created} runs exported to {args.tracking_uri} (experiment {args.experiment!r}), "
          f"{skipped} already there")
    return EXIT_OK
