"""`fer-bench clean RESULTS`: list, and with --yes remove, the records that no current spec makes."""

from pathlib import Path

from fer_bench.errors import EXIT_OK

NAME, HELP = "clean", "list (and with --yes remove) records that no current spec would make"


def add_arguments(parser) -> None:
    parser.add_argument("results", metavar="RESULTS")
    parser.add_argument("--spec", action="append", default=[], metavar="FILE",
                        help="the current spec of its records (default: the file each record names, else the "
                             "shipped spec of that name)")
    parser.add_argument("--yes", action="store_true", help="remove them")
    parser.add_argument("--orphans", action="store_true",
                        help="with --yes, also remove records whose spec is found nowhere")


def execute(args, argv) -> int:
    from fer_bench.scheduling.clean import find_stale, remove

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
