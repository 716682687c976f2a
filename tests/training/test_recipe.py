"""The state-of-the-art recipe's parts on CPU: VGG builder, augmentation, schedules, test-time
views, the full-train protocol and time-to-accuracy."""

import json
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SAMPLE, call_main, write

from fer_bench.data.formats import EMOTIONS
from fer_bench.data.source import load_data
from fer_bench.data.splits import study_splits
from fer_bench.models.vgg import VGGParams, build_vgg, vgg_cost
from fer_bench.scheduling.executor import Trainer
from fer_bench.spec.load import load_spec
from fer_bench.training.augment import TEN_CROP_PAD, augmentation_layers, predict_views

EVERY_AUGMENTATION = {"horizontal_flip": True, "shift": 0.1, "zoom": 0.1, "rotation": 10, "erasing": 1.0}


@pytest.fixture(scope="module")
def faces():
    data = load_data(SAMPLE)
    return (data.pixels[:32].astype(np.float32) / 255.0)[..., None]


def test_augmentation_keeps_shape_and_range_in_training_and_is_the_identity_at_inference(faces):
    import keras

    keras.utils.set_random_seed(0)
    layers = augmentation_layers(EVERY_AUGMENTATION)
    assert [layer.name for layer in layers] == ["flip", "shift", "zoom", "rotation", "erasing"]
    trained, inferred = faces, faces
    for layer in layers:
        trained = layer(trained, training=True)
        inferred = layer(inferred, training=False)
    trained, inferred = keras.ops.convert_to_numpy(trained), keras.ops.convert_to_numpy(inferred)
    assert trained.shape == faces.shape and trained.dtype == np.float32
    assert trained.min() >= 0.0 and trained.max() <= 1.0
    assert np.abs(trained - faces).mean() > 0.01  # it did change the training images
    np.testing.assert_array_equal(inferred, faces)


def test_ten_crop_averaging_equals_averaging_the_ten_crops_by_hand(faces):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(4, 5, activation="relu")(inputs)
    outputs = keras.layers.Dense(len(EMOTIONS), activation="softmax")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    p = TEN_CROP_PAD
    padded = np.zeros((len(faces), 48 + 2 * p, 48 + 2 * p, 1), np.float32)
    padded[:, p:p + 48, p:p + 48] = faces
    by_hand = []
    for top, left in ((0, 0), (0, 2 * p), (2 * p, 0), (2 * p, 2 * p), (p, p)):
        crop = padded[:, top:top + 48, left:left + 48]
        by_hand += [model.predict(crop, verbose=0), model.predict(np.flip(crop, axis=2).copy(), verbose=0)]
    np.testing.assert_allclose(predict_views(model, faces, "ten_crop", 16), np.mean(by_hand, axis=0), atol=1e-6)
    flips = (model.predict(faces, verbose=0) + model.predict(np.flip(faces, axis=2).copy(), verbose=0)) / 2
    np.testing.assert_allclose(predict_views(model, faces, "flip", 16), flips, atol=1e-6)


@pytest.mark.parametrize("width", [0.125, 0.5, 1.0])
def test_vgg_cost_matches_keras(width):
    params = VGGParams(width=width)
    model = build_vgg(params)
    cost = vgg_cost(params)
    assert cost.parameters == model.count_params()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert cost.trainable_parameters == trainable
    assert [layer.filters for layer in model.layers if layer.name.startswith("conv") and
            hasattr(layer, "filters")][::2] == [max(1, round(f * width)) for f in (64, 128, 256, 512)]


def test_one_cycle_and_cosine_schedules_rise_then_fall():
    import keras

    from fer_bench.training.schedules import make_schedule

    one_cycle = make_schedule({"name": "one_cycle", "warmup": 0.2, "min_fraction": 0.0}, 0.1, 10, 10)
    values = [float(keras.ops.convert_to_numpy(one_cycle(step))) for step in (0, 10, 20, 60, 99, 100)]
    assert values[0] == pytest.approx(0.1 / 25) and values[2] == pytest.approx(0.1)
    assert values[0] < values[1] < values[2] > values[3] > values[4] >= values[5] == pytest.approx(0.1 / 1e4, rel=1e-3)
    cosine = make_schedule({"name": "cosine", "warmup": 0.1, "min_fraction": 0.1}, 0.1, 10, 10)
    ends = [float(keras.ops.convert_to_numpy(cosine(step))) for step in (0, 10, 100)]
    assert ends[0] < ends[1] == pytest.approx(0.1) and ends[2] == pytest.approx(0.01, rel=1e-3)


def test_full_train_protocol_trains_on_all_of_training_and_selects_on_private_test():
    data = load_data(SAMPLE)
    splits = study_splits(data, 1302, protocol="full-train")
    assert sorted(splits["train"].indices) == sorted(data.indices("Training"))
    np.testing.assert_array_equal(splits["validation"].indices, splits["private_test"].indices)
    assert len(splits["public_test"].indices) == 100


@pytest.mark.slow
def test_the_recipe_runs_end_to_end_and_records_its_test_views_and_time_to_target(tmp_path):
    spec = write(tmp_path / "r.yaml", """
name: recipe
dataset: {source: sample, protocol: full-train}
model: {builder: vgg, params: {width: 0.125, dense_units: [256, 256]}}
training:
  epochs: 4
  batch_size: 32
  optimizer: {name: sgd, learning_rate: 0.05, momentum: 0.9, nesterov: true, weight_decay: 1.0e-4}
  schedule: {name: one_cycle, warmup: 0.25}
  callbacks: {reduce_lr_on_plateau: null}
  augmentation: {horizontal_flip: true, shift: 0.1, zoom: 0.1, rotation: 10, erasing: 0.5}
  label_smoothing: 0.1
  tta: ten_crop
  stop_at_val_accuracy: 0.05
  gradient_stats: false
seeds: 1
""")
    result = call_main("run", spec, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = (tmp_path / "out" / "recipe").glob("*/record.json")
    record = json.loads(path.read_text())
    assert record["data"]["protocol"] == "full-train" and record["data"]["n"]["train"] == 300
    assert record["tta"]["mode"] == "ten_crop" and record["tta"]["views"] == 10
    assert 0.0 <= record["tta"]["public_test_accuracy"] <= 1.0
    target = record["time_to_target"]
    assert target["reached"] and target["epoch"] == 1 and len(record["history"]) == 1  # stopped there
    assert target["public_test_accuracy"] == record["metrics"]["public_test_accuracy"]
    lrs = [h["lr"] for h in record["history"]]
    assert lrs[0] == pytest.approx(0.05 / 25)  # the one-cycle schedule's first rate
    report = call_main("report", tmp_path / "out", "-o", tmp_path / "r.md")
    assert report.returncode == 0, report.stderr[-2000:]
    text = (tmp_path / "r.md").read_text()
    assert "full-train" in text and "Test-time augmentation" in text and "Time to target" in text


def test_each_trial_of_a_run_is_timed_from_the_process_start_as_if_it_ran_alone(tmp_path):
    """The second trial's time to target counts the process's start-up once, and not the first trial's 12 epochs."""
    spec = write(tmp_path / "t.yaml", """
name: clock
dataset: {source: sample}
model: {params: {conv_filters: [8], conv_kernels: [3], dense_units: [8]}}
training: {epochs: 12, batch_size: 64, gradient_stats: false}
seeds: 1
sweep:
  variants:
    - {name: long, set: {training.stop_at_val_accuracy: 1.0}}
    - {name: short, set: {training.stop_at_val_accuracy: 0.01}}
""")
    result = call_main("run", spec, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    paths = (tmp_path / "out" / "clock").glob("*/record.json")
    records = {r["variant"]: r for r in (json.loads(p.read_text()) for p in paths)}
    long, short = records["long"], records["short"]
    assert len(long["history"]) == 12 and not long["time_to_target"]["reached"]
    assert short["time_to_target"]["epoch"] == 1 and short["started_at"] >= long["finished_at"]

    def before_fit(record):  # start-up, and the trial's own build
        return record["history"][0]["since_process_start_s"] - record["history"][0]["since_fit_start_s"]

    assert before_fit(short) < before_fit(long) + long["timing"]["fit_s"] / 2, (before_fit(short), before_fit(long))


def test_a_later_trials_clock_starts_later_by_the_time_since_the_first():
    trainer = Trainer(Path("."), {}, None, [], process_start=100.0, rerun=False)
    assert trainer._clock_start() == 100.0
    time.sleep(0.2)
    assert 100.2 <= trainer._clock_start() < 101.0


def test_the_cpu_recipe_runs_on_the_bundled_sample(tmp_path):
    """benchmark/cpu_time_to_accuracy.yaml as shipped, one epoch of its first target on the sample: it runs and
    records its target, test views and precision; how fast it is, is measured on the full data (docs)."""
    result = call_main("run", "cpu_time_to_accuracy", "--data", SAMPLE, "--out", tmp_path / "out", "--seeds", "1",
                       "--epochs", "1", "--only", "study-final*", "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = (tmp_path / "out" / "cpu_time_to_accuracy").glob("*/record.json")
    record = json.loads(path.read_text())
    assert record["status"] == "complete" and record["model"]["builder"] == "vgg"
    assert record["time_to_target"]["target"] == 0.5696 and record["tta"]["mode"] == "flip"
    assert record["precision"]["asked"] == "auto"


def test_shipped_recipe_specs_are_the_published_recipe():
    sota = load_spec(REPO / "benchmark" / "sota.yaml").spec
    assert sota.model.builder == "vgg" and sota.dataset.protocol == "full-train"
    optimizer = sota.training.optimizer
    assert (optimizer.name, optimizer.learning_rate, optimizer.momentum, optimizer.nesterov,
            optimizer.weight_decay) == ("sgd", 0.01, 0.9, True, 1e-4)
    assert sota.training.callbacks.reduce_lr_on_plateau.monitor == "val_accuracy"
    assert sota.training.tta == "ten_crop"
    fast = load_spec(REPO / "benchmark" / "time_to_accuracy.yaml").spec
    assert fast.training.stop_at_val_accuracy == 0.65 and fast.dataset.protocol == "study"


@pytest.mark.real_data
@pytest.mark.slow
def test_a_narrow_vgg_learns_on_real_data(real_data, tmp_path):
    """An eighth of the recipe's widths, 3 epochs on the whole train split, with the CPU recipe's optimizer
    and schedule (SGD, one-cycle, batch 128): 0.463-0.484 PublicTest and PrivateTest over seeds 0-1 here,
    training in 42-48 s. Adam at batch 64 reached 0.455 in 170 s; 2 epochs of this reach only 0.377."""
    spec = write(tmp_path / "v.yaml", """
name: narrow
model: {builder: vgg, params: {width: 0.125, dense_units: [1024, 1024]}}
training:
  epochs: 3
  batch_size: 128
  optimizer: {name: sgd, learning_rate: 0.05, momentum: 0.9, nesterov: true, weight_decay: 5.0e-4}
  schedule: {name: one_cycle, warmup: 0.2}
  callbacks: {reduce_lr_on_plateau: null}
  gradient_stats: false
seeds: 1
""")
    result = call_main("run", spec, "--data", real_data, "--out", tmp_path / "out", "--quiet",
                       "--max-eval-samples", "2000")
    assert result.returncode == 0, result.stderr[-2000:]
    (path,) = (tmp_path / "out" / "narrow").glob("*/record.json")
    best = json.loads(path.read_text())["best_metrics"]
    assert best["public_test_accuracy"] >= 0.40 and best["private_test_accuracy"] >= 0.40  # majority: 0.25
