"""`fer-bench status RESULTS`: trials complete, diverged, timed out, failed and pending per spec."""

from pathlib import Path

from fer_bench.errors import EXIT_OK

NAME, HELP = "status", "trials complete, diverged, failed and pending per spec"


def add_arguments(parser) -> None:
    parser.add_argument("results", nargs="+", metavar="RESULTS")


def execute(args, argv) -> int:
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
