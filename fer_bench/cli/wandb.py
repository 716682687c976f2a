"""`fer-bench wandb RESULTS`: every record as a W&B run; `--sweep-config SPEC`: a search as W&B sweeps."""

import sys

from fer_bench.errors import EXIT_OK, UserError
from fer_bench.spec.search import STRATEGIES

NAME, HELP = "wandb", "export every record as a Weights & Biases run, or a search as sweeps (needs fer-bench[wandb])"


def add_arguments(parser) -> None:
    parser.add_argument("results", nargs="*", metavar="RESULTS")
    parser.add_argument("--project", default="fer-bench", help="W&B project (default: fer-bench)")
    parser.add_argument("--entity", help="W&B entity (team or user; default: the login's)")
    parser.add_argument("--mode", choices=("offline", "online"), default="offline",
                        help="offline (default): run folders under DIR/wandb, uploaded later by `wandb sync`; "
                             "online: straight to the project (needs `wandb login`)")
    parser.add_argument("--dir", metavar="DIR", help="where W&B writes its wandb/ folder (default: $WANDB_DIR or .)")
    parser.add_argument("--sweep-config", metavar="SPEC",
                        help="print the spec's search as W&B sweep configurations (YAML), one per strategy")
    parser.add_argument("--strategy", choices=STRATEGIES,
                        help="with --sweep-config: only this strategy's configuration")


def execute(args, argv) -> int:
    if args.sweep_config:
        if args.results:
            raise UserError("fer-bench wandb: give RESULTS to export or --sweep-config SPEC, not both")
        return _sweep_config(args.sweep_config, args.strategy)
    if args.strategy:
        raise UserError("fer-bench wandb: --strategy goes with --sweep-config SPEC")
    if not args.results:
        raise UserError("fer-bench wandb: give RESULTS folders to export, or --sweep-config SPEC")
    from fer_bench.trackers.wandb_export import export_wandb
    from fer_bench.trackers.wandb_runs import WandbTarget

    target = WandbTarget(args.project, args.entity, args.mode, args.dir)
    created, skipped = export_wandb(args.results, target)
    where = f"{target.runs_dir}" if args.mode == "offline" else f"project {args.project!r}"
    print(f"wandb: {created} runs exported ({args.mode}) to {where}, {skipped} already there")
    if args.mode == "offline" and created:
        print(f"to upload them: {target.sync_hint()}")
    return EXIT_OK


def _sweep_config(path: str, strategy: str | None) -> int:
    from pathlib import Path

    import yaml

    from fer_bench.spec.load import load_spec
    from fer_bench.trackers.wandb_sweep import sweep_configs, unmapped, validate

    loaded = load_spec(Path(path))
    search = loaded.spec.search
    if search is None:
        raise UserError(f"{path}: --sweep-config needs a spec with a search block; this one has none")
    strategies = [s for s in search.strategies if strategy in (None, s)]
    if not strategies:
        raise UserError(f"{path}: --strategy {strategy}: the search runs {', '.join(search.strategies)} only")
    configs = sweep_configs(search, loaded.spec.name, path, strategies)
    checked = [validate(config, name) for name, config in configs]
    print(f"# {path}: not mapped: {'; '.join(unmapped(search, strategies))}", file=sys.stderr)
    if not all(checked):
        print("# not checked against W&B's sweep schema: pip install 'sweeps<0.3' (W&B's sweep engine)",
              file=sys.stderr)
    print(yaml.safe_dump_all([config for _, config in configs], sort_keys=False, default_flow_style=None,
                             explicit_start=True), end="")
    return EXIT_OK
