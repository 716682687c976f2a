"""`fer-bench evaluate MODEL.keras`: score a saved model like a trial and write an ordinary record.

The record has no training history; the report lists it with the trials of its spec name
(`--name`, default `evaluate`).
"""

import hashlib
import math
import re
import time
from datetime import datetime, timezone
from pathlib import Path

from fer_bench.data.corrupted import check_makeable
from fer_bench.errors import UserError
from fer_bench.records import FORMAT_VERSION, RECORD, check_results_dir, trial_dir
from fer_bench.storage import write_json_atomic

SUFFIXES = (".keras", ".h5")


def evaluate_saved(model_path: Path, data_flag: str | None, out: Path, name: str, max_eval_samples: int | None,
                   device: str, command: list[str], corruptions: bool = False) -> dict:
    started = time.time()
    check_request(model_path, name)
    from fer_bench.spec.schema import DatasetSpec

    out = check_results_dir(out)
    from fer_bench.training.backend import environment, start_backend

    env = environment(start_backend(device))
    model = load_checked(model_path)
    from fer_bench.data.source import load_data, resolve_data_path
    from fer_bench.data.splits import study_splits
    from fer_bench.training.memory import MemoryWatch
    from fer_bench.training.quality import reliability_bins
    from fer_bench.training.scoring import TEST_SPLITS, sample_predictions

    data = load_data(resolve_data_path(data_flag))
    if corruptions:  # one line now, not a failure after the other scores
        check_makeable(data, f"{model_path}: --corruptions on")
    dataset = DatasetSpec(max_eval_samples=max_eval_samples)
    splits = study_splits(data, dataset.split_seed, dataset.validation_fraction, None, max_eval_samples)
    model_sha = hashlib.sha256(model_path.read_bytes()).hexdigest()
    memory = MemoryWatch().start()
    eval_start = time.time()
    results, metrics, audit, extra = score(model, data, splits, env["device"]["kind"], corruptions)
    identity = hashlib.sha256(f"{model_sha}|{data.fingerprint}|{max_eval_samples}".encode()).hexdigest()[:8]
    variant = re.sub(r"[^A-Za-z0-9._-]+", "-", model_path.stem).strip("-.")[:60] or "model"
    trial_id = f"{variant}_s0_{identity}"
    record = {
        "format_version": FORMAT_VERSION, "spec": name, "trial_id": trial_id, "variant": variant, "params": {},
        "seed": 0,  # nothing is random in scoring; 0 by convention
        "status": "complete",
        "config": {"dataset": dataset.model_dump(mode="json"),
                   "model": {"builder": "saved", "params": {"file": str(model_path), "sha256": model_sha}},
                   "training": {}},
        "overrides": {"max_eval_samples": max_eval_samples} if max_eval_samples else {},
        "spec_file": str(model_path), "spec_sha256": model_sha, "spec_content": "",
        "data": data_block(data, dataset, splits, audit),
        "environment": {**env, "data_fingerprint": data.fingerprint, "seed": 0},
        "command": command,
        "model": {"builder": "saved", "parameters": int(model.count_params()),
                  "trainable_parameters": int(sum(math.prod(w.shape) for w in model.trainable_weights)),
                  "macs_per_image": None},
        "history": [], "time_to_accuracy": {}, "best_epoch": None,
        "metrics": metrics, "best_metrics": metrics,
        "confusion_matrix": {n: results[n]["confusion"] for n in TEST_SPLITS},
        "best_confusion_matrix": {n: results[n]["confusion"] for n in TEST_SPLITS},
        "reliability": {n: reliability_bins(results[n]["probabilities"], results[n]["labels"]) for n in TEST_SPLITS},
        "predictions": sample_predictions(splits["public_test"], results["public_test"]["labels"],
                                          results["public_test"]["probabilities"], dataset.split_seed),
        **extra,
        "timing": {"total_s": round(time.time() - started, 3), "eval_s": round(time.time() - eval_start, 3)},
        "memory": memory.stop(),
        "started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_json_atomic(trial_dir(out, name, trial_id) / RECORD, record)
    return record


def check_request(model_path: Path, name: str) -> None:
    """The model file and the results name, checked before any data is read."""
    if not model_path.is_file():
        raise UserError(f"{model_path}: no such file")
    if model_path.suffix not in SUFFIXES:
        raise UserError(f"{model_path}: a saved Keras model ends in {' or '.join(SUFFIXES)}")
    from fer_bench.spec.base import check_name

    try:
        check_name(name)
    except ValueError as exc:
        raise UserError(f"--name {name!r}: {exc}") from None


def data_block(data, dataset, splits: dict, audit) -> dict:
    """The record's data section for the study's splits of `data` (nothing trained on them here)."""
    from fer_bench.data.audit import summarize as audit_summary

    return {**data.describe(), "split_seed": dataset.split_seed, "validation_fraction": dataset.validation_fraction,
            "max_train_samples": None, "max_eval_samples": dataset.max_eval_samples, "protocol": dataset.protocol,
            "audit": audit_summary(audit, data, splits["train"].indices, splits["validation"].indices),
            "n": {n: int(len(s.indices)) for n, s in splits.items()}}


def load_checked(model_path: Path):
    """The saved model, or one line saying why it cannot be scored on FER-2013."""
    import keras

    from fer_bench.training.build import ShapeError, check_shapes

    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as exc:
        raise UserError(f"{model_path}: cannot load it as a Keras model ({exc.__class__.__name__}: "
                        f"{str(exc).splitlines()[0][:200]})") from None
    try:
        check_shapes(model, str(model_path))
    except ShapeError as exc:
        raise UserError(str(exc)) from None
    return model


def score(model, data, splits, device: str, corruptions: bool) -> tuple[dict, dict, dict, dict]:
    """Predictions per scored split, the record's metrics (with honest scores), the data's audit, and the
    record's running cost (and FER-2013-C scores where asked)."""
    from fer_bench.data.audit import load_audit
    from fer_bench.data.leakage import dedup_masks, honest_scores
    from fer_bench.training.arrays import ArrayCache
    from fer_bench.training.robustness import corruption_scores
    from fer_bench.training.scoring import (
        PREDICT_BATCH,
        TEST_SPLITS,
        corruption_metrics,
        evaluate,
        measured_running_cost,
        predicts,
        quality_metrics,
    )

    arrays = ArrayCache(data)
    scored = {"validation": arrays.get(splits["validation"]), **{n: arrays.get(splits[n]) for n in TEST_SPLITS}}
    results = evaluate(model, scored, "categorical_crossentropy")
    audit = load_audit(data)
    tests = {n: results[n] for n in TEST_SPLITS}
    metrics = {"train_accuracy": None, "train_loss": None,
               "val_accuracy": results["validation"]["accuracy"], "val_loss": results["validation"]["loss"],
               **{f"{n}_accuracy": results[n]["accuracy"] for n in TEST_SPLITS},
               **{f"{n}_loss": results[n]["loss"] for n in TEST_SPLITS}}
    metrics.update(honest_scores(predicts(model), dedup_masks(audit, data, splits), tests, metrics["val_accuracy"],
                                 scored["validation"]))
    metrics.update(quality_metrics(results["validation"]["probabilities"], results["validation"]["labels"], tests))
    extra = {"running_cost": measured_running_cost(model, scored["public_test"][0], device, results["private_test"])}
    if corruptions:
        public = splits["public_test"]
        extra["corruptions"] = corruption_scores(model, arrays.corrupted(), public.indices, scored["public_test"][1],
                                                 metrics["public_test_accuracy"], PREDICT_BATCH)
        metrics.update(corruption_metrics(extra["corruptions"]))
    return results, metrics, audit, extra
