"""Time `fer-bench report` over many records (goal: 200 records in 15 s on CPU).

    python perf/report_render.py RESULTS_WITH_SOME_RECORDS [--records 200]

Copies the given records under new seeds and trial ids until there are --records of them (the
report's work grows with records, epochs and variants, not with what the numbers are), then
times rendering HTML and Markdown in fresh processes.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--records", type=int, default=200)
    args = parser.parse_args()
    sources = [json.loads(p.read_text()) for p in sorted(Path(args.results).rglob("record.json"))]
    if not sources:
        sys.exit(f"{args.results}: no records")
    work = Path(tempfile.mkdtemp(prefix="fer-bench-report-perf-"))
    for i in range(args.records):
        record = dict(sources[i % len(sources)])
        record["seed"] = 1000 + i
        record["trial_id"] = f"{record['variant']}_s{record['seed']}_{i:08x}"
        target = work / "results" / record["spec"] / record["trial_id"] / "record.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(record))
    for suffix in ("html", "md"):
        started = time.time()
        subprocess.run([sys.executable, "-m", "fer_bench", "report", str(work / "results"), "-o",
                        str(work / f"report.{suffix}")], cwd=REPO, check=True, capture_output=True)
        print(f"{args.records} records -> report.{suffix}: {time.time() - started:.1f}s (whole process)")


if __name__ == "__main__":
    main()
