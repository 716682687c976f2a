"""Records on disk -> pandas DataFrames: one row per trial, or one row per trial and epoch."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, f1_score

from fer_bench.errors import UserError
from fer_bench.records import iter_records, reached_accuracy
from fer_bench.report.order import variant_positions

METRICS = ("train_accuracy", "val_accuracy", "public_test_accuracy", "private_test_accuracy",
           "train_loss", "val_loss", "public_test_loss", "private_test_loss",
           "val_accuracy_dedup", "public_test_accuracy_dedup", "private_test_accuracy_dedup",
           # beyond accuracy (training/quality.py): per split, and the temperature fitted on validation
           *(f"{split}_{key}" for key in ("balanced_accuracy", "macro_f1", "nll", "brier", "ece", "ece_scaled")
             for split in ("val", "public_test", "private_test")), "temperature",
           # FER-2013-C (training/robustness.py): mean accuracy over corruptions and severities, drop from clean
           "public_test_c_accuracy", "public_test_c_drop")
# What the final weights cost to run (training/running_cost.py): frame column -> path in the record's block
RUNNING_COST = {"saved_bytes": ("saved_bytes",), "latency_ms": ("latency_ms", "median"),
                "latency_ms_p90": ("latency_ms", "p90"), "inference_images_per_s": ("images_per_s",),
                "inference_batch": ("batch",)}


def read_all(paths) -> list[dict]:
    """Every readable record under the given directories, merged; unreadable ones are warned about."""
    records = []
    for root in map(Path, paths):
        if not root.exists():
            raise UserError(f"{root}: no such results directory")
        if not root.is_dir():
            raise UserError(f"{root}: is a file; give a results directory")
        for path, record in iter_records(root):
            record["_path"] = str(path)
            records.append(record)
    if not records:
        raise UserError(f"{', '.join(map(str, paths))}: no trial records found (run `fer-bench run SPEC` first)")
    return records


def report_records(paths) -> list[dict]:
    """read_all, where a search's trials have different budgets each one's variant naming its epochs."""
    records = read_all(paths)
    label_budgets(records)
    label_precisions(records)
    return records


def budget(record: dict) -> tuple[int | None, bool]:
    """(the epochs a trial was given, whether it continued an earlier trial's weights: a Hyperband round)."""
    rung = (record.get("search") or {}).get("rung") or {}
    return ((record.get("config") or {}).get("training") or {}).get("epochs"), bool(rung.get("initial_epoch"))


def training_key(record: dict) -> str:
    """What makes two records the same training: configuration, seed and budget (a search's strategies and
    search seeds may each ask for it; on a CPU it repeats exactly)."""
    return json.dumps([record.get("params"), record.get("seed"), budget(record)], sort_keys=True)


def label_budgets(records: list[dict]) -> None:
    """In a search whose trials have different budgets (Hyperband's rounds, or strategies given different
    epochs), each variant names its epochs, and a continued round says so: one point at 1 epoch, at 3, and at
    3 continued from 1 are three trainings, which the tables would otherwise average as seeds of one. Trials
    with equal labels are the same training, whichever strategy ran them."""
    by_spec: dict[str, list[dict]] = {}
    for record in records:
        if record.get("search") and record.get("variant") is not None:
            by_spec.setdefault(record["spec"], []).append(record)
    for searched in by_spec.values():
        if len({budget(r) for r in searched}) < 2:
            continue
        for record in searched:
            epochs, continued = budget(record)
            record["variant"] += f" ({epochs} epoch{'' if epochs == 1 else 's'}{', continued' if continued else ''})"


def precision(record: dict) -> str:
    """What the trial trained in: the record's choice, else what its configuration asked (float32 by default)."""
    chosen = (record.get("precision") or {}).get("chosen")
    return chosen or ((record.get("config") or {}).get("training") or {}).get("mixed_precision") or "float32"


def label_precisions(records: list[dict]) -> None:
    """Where one variant was trained in more than one precision (`run --precision auto` beside float32 runs
    of the same spec), each names its precision: the tables would otherwise average the two as seeds of one."""
    found: dict[tuple, set[str]] = {}
    for record in records:
        found.setdefault((record["spec"], record.get("variant")), set()).add(precision(record))
    for record in records:
        if record.get("variant") is not None and len(found[(record["spec"], record["variant"])]) > 1:
            record["variant"] += f" ({precision(record)})"


def trials_frame(records: list[dict]) -> pd.DataFrame:
    rows = []
    positions = variant_positions(records)
    for r in records:
        env, timing, data = r.get("environment", {}), r.get("timing", {}), r.get("data", {})
        row = {
            "spec": r["spec"], "trial_id": r["trial_id"], "variant": r.get("variant"),
            "strategy": (r.get("search") or {}).get("strategy"),
            "variant_position": positions.get((r["spec"], r.get("variant"))), "seed": r.get("seed"),
            "status": r.get("status"), "params": json.dumps(r.get("params", {}), sort_keys=True),
            "error": r.get("error"), "diverged_epoch": r.get("diverged_epoch"),
            "epochs": len(r.get("history", [])), "best_epoch": r.get("best_epoch"),
            "backend": env.get("backend"), "device": (env.get("device") or {}).get("name"),
            "device_kind": (env.get("device") or {}).get("kind"),
            "data_source": data.get("source"), "data_fingerprint": data.get("fingerprint"),
            "split_seed": data.get("split_seed"),
            "n_train": (data.get("n") or {}).get("train"),
            "seconds_per_epoch": timing.get("seconds_per_epoch"),
            "train_images_per_s": timing.get("steady_train_images_per_s"),
            "total_s": timing.get("total_s"),
            "path": r.get("_path"),
        }
        for key in METRICS:
            row[key] = (r.get("metrics") or {}).get(key)
            row[f"best_{key}"] = (r.get("best_metrics") or {}).get(key)
        for prefix, matrices in (("", r.get("confusion_matrix")), ("best_", r.get("best_confusion_matrix"))):
            for split, matrix in (matrices or {}).items():
                if f"{split}_macro_f1" in METRICS and row.get(f"{prefix}{split}_macro_f1") is None:
                    row.update({f"{prefix}{split}_{key}": value
                                for key, value in class_balance_from_confusion(matrix).items()})
        for column, path in RUNNING_COST.items():
            row[column] = _dig(r.get("running_cost"), path)
        reached = reached_accuracy(r)
        row["accuracy_path_known"] = reached is not None
        for threshold, hit in (reached or {}).items():
            row[f"epochs_to_{threshold}"] = hit["epoch"] if hit else None
            row[f"seconds_to_{threshold}"] = hit["since_fit_start_s"] if hit else None
        rows.append(row)
    return _numeric(pd.DataFrame(rows), [*METRICS, *(f"best_{key}" for key in METRICS), *RUNNING_COST])


def class_balance_from_confusion(matrix: list[list[int]]) -> dict:
    """Balanced accuracy and macro-F1 (scikit-learn's, as training/quality.py scores them) of the predictions a
    confusion matrix counts: exact, so records from before these metrics (e.g. results/reference/h100-jax) get
    them on the splits whose matrix they kept. Calibration needs the probabilities, which such records lack."""
    counts = np.asarray(matrix, dtype=int)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.sum() == 0:
        return {}
    true, predicted = label_pairs(counts)
    with warnings.catch_warnings():  # a class predicted but absent from the split: as in training/quality.py
        warnings.filterwarnings("ignore", "y_pred contains classes not in y_true")
        balanced = float(balanced_accuracy_score(true, predicted))
    return {"balanced_accuracy": balanced,
            "macro_f1": float(f1_score(true, predicted, labels=list(range(len(counts))), average="macro",
                                       zero_division=0))}


def label_pairs(matrix) -> tuple[np.ndarray, np.ndarray]:
    """The (true, predicted) labels a confusion matrix counts, one pair per image: what scikit-learn's
    metrics take."""
    counts = np.asarray(matrix, dtype=int)
    true, predicted = np.nonzero(counts)
    weights = counts[true, predicted]
    return np.repeat(true, weights), np.repeat(predicted, weights)


def _dig(block: dict | None, path: tuple[str, ...]):
    for key in path:
        block = block.get(key) if isinstance(block, dict) else None
    return block


def _numeric(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """Columns of numbers as floats: a column whose values are all null (a metric nobody scored) would
    otherwise be of object type, which plots and statistics refuse."""
    for column in columns:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def history_frame(records: list[dict]) -> pd.DataFrame:
    rows = []
    positions = variant_positions(records)
    for r in records:
        for h in r.get("history", []):
            row = {"spec": r["spec"], "variant": r.get("variant"),
                   "variant_position": positions.get((r["spec"], r.get("variant"))), "seed": r.get("seed"),
                   "trial_id": r["trial_id"], **{k: v for k, v in h.items() if k != "grad_norms"}}
            for layer, norm in (h.get("grad_norms") or {}).items():
                row[f"grad/{layer}"] = norm
            rows.append(row)
    # Records without epochs (saved models scored by `fer-bench evaluate`) still give the columns.
    empty = ["spec", "variant", "variant_position", "seed", "trial_id", "epoch"]
    frame = pd.DataFrame(rows, columns=None if rows else empty)
    return _numeric(frame, [c for c in frame.columns if c not in empty])


def load_records(*paths) -> pd.DataFrame:
    """One row per trial record under the given results directories (the notebook entry point)."""
    return trials_frame(report_records(paths or ("results",)))
