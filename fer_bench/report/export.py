"""The trials table as a file for other tools: CSV always, Parquet when pyarrow is installed."""

from pathlib import Path

from fer_bench.errors import UserError
from fer_bench.report.frames import load_records


def export_trials(paths, target: Path) -> Path:
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UserError(f"--export {target}: the table must end in .csv or .parquet")
    frame = load_records(*paths)
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(target, index=False)
    else:
        try:
            frame.to_parquet(target, index=False)
        except ImportError:
            raise UserError(f"--export {target}: Parquet needs pyarrow (pip install pyarrow); "
                            ".csv needs nothing") from None
    return target
