"""What the scores beyond accuracy cost a trial, against the trial's training on this CPU (the study's 15
epochs of the 20,096-image train split at the measured rate): class balance and calibration
(training/quality.py: one prediction pass over validation, the temperature fit and the metrics on three
splits), the running cost (training/running_cost.py: saved size and 100 one-image calls; its throughput
is the scoring's own pass) and FER-2013-C (training/robustness.py: 90 corrupted copies of PublicTest
predicted; the copies made once per data, timed apart). Per model: seconds, and the share of a trial; a
last JSON line.

    FER_BENCH_DATA=... python perf/scoring_cost.py [--models small_cnn study_cnn] [--train-images 1024]
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

STUDY_EPOCHS, STUDY_TRAIN = 15, 20_096


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["small_cnn", "study_cnn"])
    parser.add_argument("--train-images", type=int, default=1024)
    args = parser.parse_args()
    from fer_bench.training.backend import start_backend

    start_backend("cpu")
    import numpy as np
    from models import bench_model

    from fer_bench.data.corrupted import CorruptedPublicTest
    from fer_bench.data.source import load_data, resolve_data_path
    from fer_bench.data.splits import study_splits
    from fer_bench.training.inputs import predict
    from fer_bench.training.robustness import corruption_scores
    from fer_bench.training.scoring import PREDICT_BATCH, TEST_SPLITS, measured_running_cost, quality_metrics

    data = load_data(resolve_data_path(None))
    splits = study_splits(data, 1302)
    train = splits["train"]
    x_train, y_train = train.x(data)[:args.train_images], np.eye(7, dtype=np.float32)[train.y(data)[:args.train_images]]
    x_val, y_val = splits["validation"].x(data), splits["validation"].y(data)
    corrupted = CorruptedPublicTest(data)
    started = time.perf_counter()
    corrupted.ensure()
    made_s = time.perf_counter() - started
    public = splits["public_test"]
    rows = []
    for name in args.models:
        model = bench_model(name)
        model.fit(x_train[:128], y_train[:128], batch_size=64, epochs=1, verbose=0)  # compiled outside the timing
        started = time.perf_counter()
        model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0)
        train_rate = len(x_train) / (time.perf_counter() - started)
        tests = {}
        for split in TEST_SPLITS:
            started = time.perf_counter()
            probabilities = predict(model, splits[split].x(data), PREDICT_BATCH)
            tests[split] = {"probabilities": probabilities, "labels": splits[split].y(data),
                            "seconds": time.perf_counter() - started}
        predict(model, x_val[:PREDICT_BATCH], PREDICT_BATCH)
        started = time.perf_counter()
        val_probabilities = predict(model, x_val, PREDICT_BATCH)
        predict_s = time.perf_counter() - started
        started = time.perf_counter()
        quality_metrics(val_probabilities, y_val, tests)
        metrics_s = time.perf_counter() - started
        started = time.perf_counter()
        cost = measured_running_cost(model, public.x(data), "cpu", tests["private_test"])
        running_s = time.perf_counter() - started
        started = time.perf_counter()
        corruptions = corruption_scores(model, corrupted, public.indices, public.y(data), 0.5, PREDICT_BATCH)
        corruption_s = time.perf_counter() - started
        trial_s = STUDY_EPOCHS * STUDY_TRAIN / train_rate
        # a trial scores its final weights and, when another epoch was best, that epoch's too
        extra = [predict_s + metrics_s, 2 * (predict_s + metrics_s)]
        row = {"model": name, "train_images_per_s": round(train_rate, 1), "validation_images": len(x_val),
               "predict_validation_s": round(predict_s, 2), "metrics_s": round(metrics_s, 3),
               "trial_s": round(trial_s), "share": [round(e / trial_s, 4) for e in extra],
               "running_cost_s": round(running_s, 2), "running_cost_share": round(running_s / trial_s, 4),
               "latency_ms": cost["latency_ms"]["median"], "saved_bytes": cost["saved_bytes"],
               "corruption_images": 90 * len(public.indices), "corruption_s": round(corruption_s, 1),
               "corruption_share": round(corruption_s / trial_s, 4), "fer2013_c_made_s": round(made_s, 1),
               "corruption_mean_accuracy": round(corruptions["mean_accuracy"], 4)}
        rows.append(row)
        print(f"{name}: training {train_rate:.0f} images/s, a {STUDY_EPOCHS}-epoch trial ~{trial_s:.0f} s; "
              f"validation predicted in {predict_s:.1f} s, metrics and temperature in {metrics_s:.2f} s: "
              f"{100 * row['share'][0]:.2f}% of the trial ({100 * row['share'][1]:.2f}% with a best epoch too)",
              flush=True)
        print(f"{name}: running cost measured in {running_s:.1f} s ({100 * row['running_cost_share']:.2f}% of the "
              f"trial; one image {row['latency_ms']:.2f} ms, {row['saved_bytes'] / 1e6:.1f} MB saved); FER-2013-C "
              f"({row['corruption_images']:,} images) scored in {corruption_s:.0f} s: "
              f"{100 * row['corruption_share']:.1f}% of the trial (its copies made once: {made_s:.0f} s)", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
