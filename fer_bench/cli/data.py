"""`fer-bench data`: the data set's source, fingerprint and counts per split, and with --audit its copies."""

import json
import sys
import time

from fer_bench.errors import EXIT_OK

NAME, HELP = "data", "describe the data set: source, fingerprint, counts per split"


def add_arguments(parser) -> None:
    parser.add_argument("--data", metavar="PATH")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--audit", action="store_true",
                        help="also find duplicates across splits, label conflicts and blank images")


def execute(args, argv) -> int:
    from fer_bench.data.source import load_data, resolve_data_path
    from fer_bench.data.splits import describe_splits, sanity_warnings, study_splits
    from fer_bench.spec.schema import DatasetSpec

    started = time.time()
    data = load_data(resolve_data_path(args.data))
    defaults = DatasetSpec()
    splits = study_splits(data, defaults.split_seed, defaults.validation_fraction)
    summary = describe_splits(data, splits)
    warnings = sanity_warnings(summary)
    report = {**data.describe(), "split_seed": defaults.split_seed,
              "validation_fraction": defaults.validation_fraction, "splits": summary, "warnings": warnings,
              "load_s": round(time.time() - started, 3), "from_cache": data.from_cache}
    if args.audit:
        from fer_bench.data.audit import load_audit
        from fer_bench.data.audit import summarize as summarize_audit

        audit_started = time.time()
        audit = load_audit(data)
        report["audit"] = {**summarize_audit(audit, data, splits["train"].indices, splits["validation"].indices),
                           "seconds": round(time.time() - audit_started, 2), "from_cache": audit["from_cache"]}
    if args.json:
        print(json.dumps(report))
        return EXIT_OK
    _print_summary(report, summary, data.from_cache)
    if args.audit:
        _print_audit(report["audit"])
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def _print_summary(report: dict, summary: dict, from_cache: bool) -> None:
    from fer_bench.data.formats import EMOTIONS

    print(f"source       {report['source']}: {report['path']} ({report['format']})")
    print(f"fingerprint  {report['fingerprint']}")
    print(f"loaded in    {report['load_s']:.2f}s ({'cache' if from_cache else 'parsed, now cached'})")
    print(f"\n{'split':<13}{'n':>7}  " + " ".join(f"{e[:8]:>8}" for e in EMOTIONS) + "   mean    std")
    for name, row in summary.items():
        counts = " ".join(f"{c:>8}" for c in row["class_counts"])
        stats = "    -      -" if row["pixel_mean"] is None else f"{row['pixel_mean']:>5.1f}  {row['pixel_std']:>5.1f}"
        print(f"{name:<13}{row['n']:>7}  {counts}  {stats}")


def _print_audit(audit: dict) -> None:
    print(f"\naudit        copies: root-mean-square difference <= {audit['threshold_rms']:g} grey levels "
          f"({audit['seconds']:.1f}s{', cached' if audit['from_cache'] else ''})")
    print(f"pairs        {audit['exact_pairs']} exact, {audit['near_pairs']} near-exact, in {audit['groups']} groups "
          f"({audit['groups_across_splits']} across splits)")
    print(f"conflicts    {audit['conflicting_label_groups']} groups of copies carry different emotions")
    print("blank        " + ", ".join(f"{n} {u}" for u, n in audit["blank_images"].items()))
    for name in ("PublicTest", "PrivateTest"):
        s = audit[name]
        share = 100 * s["with_copy_in_training"] / max(s["n"], 1)
        print(f"{name:<13}{s['with_copy_in_training']} of {s['n']} ({share:.1f}%) "
              f"have a copy in Training ({s['with_copy_in_train_split']} in train, "
              f"{s['with_copy_in_validation_split']} in validation)")
    v = audit["validation"]
    print(f"validation   {v['with_copy_in_train_split']} of {v['n']} have a copy in train")
