"""A record as a Weights & Biases run: what goes into its config, history, summary and tables.

Shared by the export of finished records (`fer-bench wandb`) and the stream of a trial as it trains
(`run --wandb`), so that both make the same run, under the same id, from the same record.
"""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from fer_bench.data.formats import EMOTIONS
from fer_bench.errors import UserError

INSTALL = "pip install 'fer-bench[wandb]'"
EPOCH_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "time_s", "train_s", "since_fit_start_s",
              "since_process_start_s")


@dataclass(frozen=True)
class WandbTarget:
    """Where runs go: a project (and entity) online, or run folders under `folder`/wandb to sync later."""

    project: str = "fer-bench"
    entity: str | None = None
    mode: str = "offline"
    folder: str | None = None  # W&B's own default: $WANDB_DIR, else the current directory

    @property
    def base(self) -> Path:
        """Resolved here, not left to W&B, which reads $WANDB_DIR once per process."""
        return Path(self.folder or os.environ.get("WANDB_DIR") or ".")

    @property
    def runs_dir(self) -> Path:
        return self.base / "wandb"

    def sync_hint(self) -> str:
        return f"wandb sync {self.runs_dir}/offline-run-*"


def import_wandb(flag: str):
    """The wandb module, or one line saying how to install it."""
    try:
        import wandb
    except ImportError:
        raise UserError(f"{flag} needs the wandb library: {INSTALL}") from None
    return wandb


def run_id(record: dict) -> str:
    """The W&B run id of a trial: stable across exports and machines, so a second export finds the first.
    Trial ids hold dots and may pass W&B's 64 characters; a digest of spec and trial id does neither."""
    return hashlib.sha256(f"{record['spec']}/{record['trial_id']}".encode()).hexdigest()[:24]


def offline_run_exists(target: WandbTarget, record: dict) -> bool:
    return any(target.runs_dir.glob(f"offline-run-*-{run_id(record)}/run-*.wandb"))


def start_run(wandb, target: WandbTarget, record: dict, sweep_id: str | None = None):
    """A new W&B run for the trial: named by its trial id, grouped by spec and variant (W&B's grouping
    then shows the mean and spread over seeds), its config the trial's resolved parameters. Under a
    sweep agent (`sweep_id`) the id is the agent's, from its environment."""
    target.base.mkdir(parents=True, exist_ok=True)
    environment = record.get("environment") or {}
    device = (environment.get("device") or {}).get("kind")
    # Under an agent, W&B's environment names the run, its project and mode: the sweep must see it.
    where = {} if sweep_id else {"project": target.project, "entity": target.entity, "mode": target.mode,
                                 "id": run_id(record)}
    return wandb.init(
        **where, dir=str(target.base), name=record["trial_id"], group=record["spec"], job_type=record.get("variant"),
        config=run_config(record), tags=[t for t in (environment.get("backend"), device) if t],
        reinit="create_new", settings=wandb.Settings(silent=True, console="off", x_disable_stats=True,
                                                     save_code=False, disable_git=True))


def run_config(record: dict) -> dict:
    data = record.get("data") or {}
    return {"spec": record["spec"], "variant": record.get("variant"), "seed": record.get("seed"),
            "trial_id": record["trial_id"], "params": record.get("params") or {}, **(record.get("config") or {}),
            "data": {k: data.get(k) for k in ("source", "fingerprint", "split_seed", "n", "protocol")},
            "environment": record.get("environment") or {}, "spec_file": record.get("spec_file")}


def epoch_row(entry: dict) -> dict:
    """One epoch of the record's history as W&B metrics; gradient norms under grad_norm/<layer>."""
    row = {k: entry[k] for k in EPOCH_KEYS if entry.get(k) is not None}
    row.update({f"grad_norm/{layer}": v for layer, v in (entry.get("grad_norms") or {}).items() if v is not None})
    return row


def log_history(run, history: list[dict]) -> None:
    for entry in history:
        run.log(epoch_row(entry), step=entry["epoch"])


def finish_run(wandb, run, record: dict) -> None:
    """What the record knows once it is written: summary metrics, confusion matrices, status."""
    # The tables join the last epoch's row, which W&B holds open until a commit: committed here, so that
    # the summary below comes after the history's and is not overwritten by it.
    history = record.get("history") or []
    tables = {f"confusion_matrix/{split}": confusion_plot(wandb, matrix, split)
              for split, matrix in (record.get("confusion_matrix") or {}).items()}
    run.log(tables, step=history[-1]["epoch"] if history else None, commit=True)
    run.config.update({"model": record.get("model"), "precision": record.get("precision")}, allow_val_change=True)
    run.summary.update(summary(record))
    run.tags = (*run.tags, record.get("status", "failed"))
    run.finish(exit_code=0 if record.get("status") == "complete" else 1)


def summary(record: dict) -> dict:
    """The record's scores: the last epoch's validation figures replaced by the scored ones, then every
    metric as final/<name> and best/<name>, time to accuracy and timing."""
    metrics, best = record.get("metrics") or {}, record.get("best_metrics") or {}
    values = {"status": record.get("status"), "best_epoch": record.get("best_epoch"), "error": record.get("error"),
              **{k: metrics[k] for k in ("val_accuracy", "val_loss") if metrics.get(k) is not None}}
    if best.get("val_accuracy") is not None:
        values["best_val_accuracy"] = best["val_accuracy"]
    values.update({f"final/{k}": v for k, v in metrics.items() if v is not None})
    values.update({f"best/{k}": v for k, v in best.items() if v is not None})
    values.update({f"time_to_accuracy/{k}": v for k, v in (record.get("time_to_accuracy") or {}).items()})
    values.update({f"timing/{k}": v for k, v in (record.get("timing") or {}).items() if v is not None})
    if (model := record.get("model")) and model.get("parameters") is not None:
        values["model/parameters"] = model["parameters"]
    return {k: v for k, v in values.items() if v is not None}


def confusion_plot(wandb, matrix: list[list[int]], split: str):
    """W&B's own confusion-matrix chart, from the counts the record keeps (rows true, columns predicted)."""
    table = wandb.Table(columns=["Actual", "Predicted", "nPredictions"],
                        data=[[EMOTIONS[t], EMOTIONS[p], count] for t, row in enumerate(matrix)
                              for p, count in enumerate(row)])
    return wandb.plot_table("wandb/confusion_matrix/v1", table,
                            {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"},
                            {"title": f"{split} confusion matrix"})
