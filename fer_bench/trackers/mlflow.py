"""Hand results to experiment trackers: every record as an MLflow run (`fer-bench mlflow`).

MLflow is optional (`pip install 'fer-bench[mlflow]'`: the skinny client and SQLite support).
Exporting twice adds nothing: runs carry the trial id as a tag and existing ones are skipped.
"""

import json
import logging
import time
from datetime import datetime
from pathlib import Path

from fer_bench.errors import UserError
from fer_bench.report.frames import read_all

EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "time_s")
TAG = "fer_bench.trial_id"
DEFAULT_URI = "sqlite:///mlflow.db"


def export_mlflow(paths: list[str], uri: str, experiment: str) -> tuple[int, int]:
    """(runs created, records already there)."""
    try:
        import mlflow
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise UserError("fer-bench mlflow needs MLflow: pip install 'fer-bench[mlflow]'") from None
    records = read_all(paths)
    for name in ("mlflow", "alembic"):  # schema set-up notes, not news for a user
        logging.getLogger(name).setLevel(logging.WARNING)
    mlflow.set_tracking_uri(uri)
    try:
        client = MlflowClient(uri)
        found = client.get_experiment_by_name(experiment)
    except mlflow.exceptions.MlflowException as exc:
        reason = str(exc.message).split(". ")[0]
        raise UserError(f"--tracking-uri {uri}: MLflow cannot use it as a tracking store ({reason}); "
                        "the default is sqlite:///mlflow.db") from None
    if found is None:
        experiment_id = client.create_experiment(experiment, artifact_location=_artifact_root(uri))
    else:
        experiment_id = found.experiment_id
    existing = {run.data.tags.get(TAG) for run in client.search_runs([experiment_id], max_results=50000)}
    created = 0
    for record in records:
        if record["trial_id"] in existing:
            continue
        started = _ms(record.get("started_at"))
        run = client.create_run(experiment_id, start_time=started, run_name=record["trial_id"],
                                tags={TAG: record["trial_id"], "fer_bench.spec": record["spec"],
                                      "fer_bench.status": record["status"],
                                      "backend": record["environment"].get("backend", ""),
                                      "device": (record["environment"].get("device") or {}).get("name", "")})
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        params = [Param(k, _text(v)) for k, v in _params(record).items()]
        metrics = [Metric(key, float(h[key]), started + int(1000 * h.get("since_fit_start_s", 0)), h["epoch"])
                   for h in record.get("history", []) for key in EPOCH_METRICS if h.get(key) is not None]
        metrics += [Metric(f"final_{k}", float(v), now, 0) for k, v in (record.get("metrics") or {}).items()
                    if v is not None]
        metrics += [Metric(f"best_{k}", float(v), now, 0) for k, v in (record.get("best_metrics") or {}).items()
                    if v is not None]
        for start in range(0, max(len(metrics), len(params), 1), 1000):  # MLflow takes 1,000 metrics a batch
            client.log_batch(run_id, metrics=metrics[start:start + 1000], params=params[start:start + 100],
                             tags=[RunTag("fer_bench.error", record.get("error", ""))] if start == 0 else [])
        folder = Path(record["_path"]).parent
        for name in ("record.json", "error.log"):
            if (folder / name).is_file():
                client.log_artifact(run_id, str(folder / name))
        client.set_terminated(run_id, "FINISHED" if record["status"] == "complete" else "FAILED",
                              end_time=_ms(record.get("finished_at")))
        created += 1
    return created, len(records) - created


def _params(record: dict) -> dict:
    training = record["config"].get("training") or {}
    optimizer = training.get("optimizer") or {}
    flat = {"spec": record["spec"], "variant": record["variant"], "seed": record["seed"],
            "model.builder": record["config"]["model"]["builder"], "training.epochs": training.get("epochs"),
            "training.batch_size": training.get("batch_size"), "training.optimizer.name": optimizer.get("name"),
            "training.optimizer.learning_rate": optimizer.get("learning_rate"),
            "data.fingerprint": record["data"]["fingerprint"]}
    flat.update(record.get("params", {}))
    if record.get("search"):
        flat.update({f"search.{k}": record["search"][k] for k in ("strategy", "trial_number")})
    return {k: v for k, v in flat.items() if v is not None}


def _text(value) -> str:
    return (value if isinstance(value, str) else json.dumps(value))[:6000]


def _ms(iso: str | None) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000) if iso else int(time.time() * 1000)


def _artifact_root(uri: str) -> str | None:
    """Beside the SQLite file, not in ./mlruns of whatever directory the export ran in."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
    return None
