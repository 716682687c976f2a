"""`fer-bench validate SPECS`: check specs and every trial they expand to, without data."""

from pathlib import Path

from fer_bench.cli.arguments import add_model_file
from fer_bench.errors import EXIT_OK

NAME, HELP = "validate", "check specs and every trial they expand to"


def add_arguments(parser) -> None:
    parser.add_argument("specs", nargs="+", metavar="SPEC")
    add_model_file(parser)


def execute(args, argv) -> int:
    from fer_bench.spec.load import load_spec
    from fer_bench.spec.trials import Overrides, describe_trials

    for path in args.specs:
        loaded = load_spec(Path(path))
        print(f"ok: {path}: {loaded.spec.name}, {describe_trials(loaded, Overrides())}")
    return EXIT_OK
