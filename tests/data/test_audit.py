"""The data audit finds exactly the planted copies, and honest scores use exactly the unleaked images."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, call_main, load_best_model, write

from fer_bench.data.audit import THRESHOLD_RMS, conflicts, run_audit, summarize
from fer_bench.data.formats import FERData, fingerprint_of, row_digests
from fer_bench.data.source import load_data
from fer_bench.data.splits import study_splits


def planted() -> tuple[FERData, dict]:
    rng = np.random.default_rng(0)
    n = 60
    pixels = rng.integers(0, 256, size=(n, 48, 48), dtype=np.uint8)
    labels = rng.integers(0, 7, size=n).astype(np.uint8)
    usage = np.array([0] * 40 + [1] * 10 + [2] * 10, dtype=np.uint8)
    pixels[40] = pixels[3]  # exact copy, Training -> PublicTest
    labels[40] = labels[3]
    noisy = pixels[5].astype(int) + rng.integers(-3, 4, size=(48, 48))
    pixels[50] = np.clip(noisy, 0, 255)  # near copy (RMS about 2), Training -> PrivateTest
    labels[50] = labels[5]
    pixels[7] = pixels[8]  # exact copy inside Training with a conflicting label
    labels[7], labels[8] = 1, 2
    far = pixels[9].astype(int) + rng.integers(-40, 41, size=(48, 48))
    pixels[10] = np.clip(far, 0, 255)  # too different: not a copy
    pixels[20] = 0  # blank
    pixels[21] = 128
    pixels[21, 0, :10] = 131  # near-constant: blank too
    data = FERData(pixels, labels, usage, Path("planted"), "npz", "", row_digests(pixels, labels, usage))
    data.fingerprint = fingerprint_of(data.digests)
    return data, {(3, 40), (5, 50), (7, 8)}


def test_audit_finds_exactly_the_planted_copies_and_blanks():
    data, expected = planted()
    audit = run_audit(data)
    assert {(i, j) for i, j, _ in audit["pairs"]} == expected
    rms = {(i, j): r for i, j, r in audit["pairs"]}
    assert rms[(3, 40)] == 0 and 0 < rms[(5, 50)] <= THRESHOLD_RMS
    assert audit["blank"] == [20, 21]
    (conflict,) = conflicts(audit, data)
    assert conflict["rows"] == [7, 8] and conflict["labels"] == ["Disgust", "Fear"]
    summary = summarize(audit, data)
    assert summary["PublicTest"]["with_copy_in_training"] == 1 and summary["PrivateTest"]["with_copy_in_training"] == 1
    assert summary["exact_pairs"] == 2 and summary["near_pairs"] == 1 and summary["conflicting_label_groups"] == 1


@pytest.mark.slow
@pytest.mark.real_data
def test_real_audit_is_stable_and_finds_the_known_leak(real_data):
    """One audit of the full file gives, count for count, the audit a committed reference run recorded
    on another machine and day (results/reference/cpu-small-cnn, the study's split): stable across
    processes and hosts, not only within one."""
    data = load_data(real_data)
    splits = study_splits(data, 1302)
    summary = summarize(run_audit(data), data, splits["train"].indices, splits["validation"].indices)
    reference = next(REPO.glob("results/reference/cpu-small-cnn/small_cnn/*/record.json"))
    assert summary == json.loads(reference.read_text())["data"]["audit"]
    for split in ("PublicTest", "PrivateTest"):
        share = summary[split]["with_copy_in_training"] / summary[split]["n"]
        assert 0.06 < share < 0.10  # about 8% of each test split has a copy in Training
    assert summary["conflicting_label_groups"] > 0


@pytest.mark.slow
def test_honest_scores_are_computed_on_the_unleaked_images(kept_best):
    out, record = kept_best
    model = load_best_model(out, record)  # the best epoch's weights, which best_metrics scored
    data = load_data(REPO / "fer_bench" / "sample" / "fer2013-sample.csv.gz")
    training = data.pixels[data.indices("Training")].reshape(-1, 2304).astype(int)
    public = data.indices("PublicTest")
    leaked = [any(np.sqrt(np.mean((training - data.pixels[i].reshape(-1)) ** 2, axis=1)) <= THRESHOLD_RMS)
              for i in public]
    assert sum(leaked) == record["data"]["audit"]["PublicTest"]["with_copy_in_training"] >= 1
    keep = public[~np.array(leaked)]
    predicted = model.predict(data.pixels[keep][..., None] / 255.0, verbose=0).argmax(1)
    honest = np.mean(predicted == data.labels[keep])
    assert record["best_metrics"]["public_test_accuracy_dedup"] == pytest.approx(honest)


@pytest.mark.slow
def test_dropping_training_copies_of_test_images(tmp_path):
    base = "name: drop\ndataset: {source: sample%s}\nmodel: {params: {conv_filters: [8], conv_kernels: [3], " \
           "dense_units: []}}\ntraining: {epochs: 1}\nseeds: 1\n"
    for name, extra in (("keep", ""), ("drop", ", drop_test_duplicates: true, drop_blank: true")):
        write(tmp_path / f"{name}.yaml", base % extra)
        assert call_main("run", tmp_path / f"{name}.yaml", "--out", tmp_path / name, "--quiet").returncode == 0
    (kept,) = [json.loads(p.read_text()) for p in (tmp_path / "keep").rglob("record.json")]
    (dropped,) = [json.loads(p.read_text()) for p in (tmp_path / "drop").rglob("record.json")]
    assert kept["data"]["dropped_from_training"] == 0 and dropped["data"]["dropped_from_training"] == 1
    assert dropped["data"]["drop_test_duplicates"] is True and kept["trial_id"] != dropped["trial_id"]
    n = lambda r: r["data"]["n"]["train"] + r["data"]["n"]["validation"]  # noqa: E731
    assert n(kept) - n(dropped) == 1
