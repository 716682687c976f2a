"""`fer-bench list SPECS`: a dry run, every trial with its size and estimated time."""

from pathlib import Path

from fer_bench.cli.arguments import add_trial_flags, overrides
from fer_bench.errors import EXIT_OK

NAME, HELP = "list", "dry run: every trial with its size and estimated time"


def add_arguments(parser) -> None:
    add_trial_flags(parser)


def execute(args, argv) -> int:
    from fer_bench.scheduling.plan import plan_specs, print_plan

    print_plan(plan_specs(args.specs, args.data, overrides(args), args.only), Path(args.out))
    return EXIT_OK
