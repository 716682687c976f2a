"""Print a pytest-benchmark JSON file as the Markdown table the README shows.

    python perf/summarize.py results/bench/benchmarks.json
"""

import json
import sys


def main(path: str) -> None:
    with open(path) as handle:
        report = json.load(handle)
    machine = report["machine_info"]
    print(f"Measured {report['datetime'][:10]} on {machine.get('cpu', {}).get('brand_raw', machine['machine'])}, "
          f"{machine['python_implementation']} {machine['python_version']}.\n")
    print("| benchmark | median | IQR | rounds | also |")
    print("|---|---|---|---|---|")
    for bench in report["benchmarks"]:
        stats = bench["stats"]
        extra = ", ".join(f"{k} {v}" for k, v in bench.get("extra_info", {}).items())
        print(f"| {bench['name'].removeprefix('test_')} | {_seconds(stats['median'])} | {_seconds(stats['iqr'])} | "
              f"{stats['rounds']} | {extra} |")


def _seconds(value: float) -> str:
    return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.2f} s"


if __name__ == "__main__":
    main(sys.argv[1])
