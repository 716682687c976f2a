"""FER-2013-C (fer_bench/data/corrupted.py) and its scores (training/robustness.py), on the bundled sample."""

import io
import sys

import keras
import numpy as np
import pytest

from fer_bench.data.corrupted import (
    CORRUPTIONS,
    OCCLUSIONS,
    SEVERITIES,
    CorruptedPublicTest,
    check_makeable,
    corrupt,
)
from fer_bench.data.formats import SAMPLE_PATH
from fer_bench.data.source import load_data
from fer_bench.errors import UserError
from fer_bench.training.robustness import corruption_scores


@pytest.fixture(scope="module")
def sample():
    return load_data(SAMPLE_PATH)


@pytest.fixture(scope="module")
def made(sample):
    """The sample's FER-2013-C in the tests' shared cache, where runs on the sample find it made."""
    corrupted = CorruptedPublicTest(sample, stream=io.StringIO())
    corrupted.ensure()
    return corrupted


def faces(sample, n=6):
    return sample.pixels[sample.indices("PublicTest")[:n]]


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_severity_0_is_the_clean_image_and_1_to_5_change_it(sample, name):
    images = faces(sample)
    assert np.array_equal(corrupt(images, name, 0), images)
    changed = [np.abs(corrupt(images, name, s).astype(int) - images).mean() for s in SEVERITIES]
    assert all(value > 0 for value in changed), changed
    # the strongest severity changes the faces more than the mildest (not every step: glass blur's
    # iterations and pixelate's steps are not monotone in ImageNet-C's own table)
    assert changed[-1] > changed[0], changed


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_a_corruption_is_the_same_every_time(sample, name):
    images = faces(sample)
    first = corrupt(images, name, 3)
    assert first.dtype == np.uint8 and first.shape == images.shape
    assert np.array_equal(first, corrupt(images, name, 3))


def test_corrupting_leaves_numpys_global_generator_as_it_found_it(sample):
    np.random.seed(7)
    expected = np.random.random(3)
    np.random.seed(7)
    corrupt(faces(sample)[:4], "gaussian_noise", 2)
    assert np.array_equal(np.random.random(3), expected)


def test_occlusion_blackens_its_band_and_nothing_else(sample):
    images = np.full((2, 48, 48), 200, dtype=np.uint8)
    for name, centre in OCCLUSIONS.items():
        for severity in SEVERITIES:
            hidden = corrupt(images, name, severity) == 0
            rows = np.flatnonzero(hidden[0].any(axis=1))
            assert rows.min() <= centre <= rows.max()
            assert hidden.sum() == 2 * len(rows) * hidden[0].any(axis=0).sum()  # one rectangle
        assert (corrupt(images, name, 5) == 0).sum() > (corrupt(images, name, 1) == 0).sum()


def test_unknown_corruption_or_severity_is_refused(sample):
    with pytest.raises(ValueError, match="allowed"):
        corrupt(faces(sample), "rain", 1)
    with pytest.raises(ValueError, match="severity 6"):
        corrupt(faces(sample), "fog", 6)


def test_the_cache_holds_every_corruption_and_serves_any_subset_of_rows(sample, made):
    rows = sample.indices("PublicTest")
    assert sorted(path.stem for path in made.folder.glob("*.npy")) == sorted(CORRUPTIONS)
    whole = made.severities("fog", rows)
    assert whole.shape == (len(SEVERITIES), len(rows), 48, 48)
    subset = rows[[3, 7, 20]]
    assert np.array_equal(made.severities("fog", subset), whole[:, [3, 7, 20]])
    assert np.array_equal(whole[2], corrupt(sample.pixels[rows], "fog", 3))
    # a second process finds it made: nothing is made again, nothing printed
    again = CorruptedPublicTest(sample, made.folder, stream=io.StringIO())
    again.ensure()
    assert again.stream.getvalue() == ""
    with pytest.raises(ValueError, match="PublicTest"):
        made.severities("fog", sample.indices("PrivateTest")[:2])


def constant_model(answer: int):
    """A model whose prediction is `answer` whatever the image."""
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(7, activation="softmax", kernel_initializer="zeros")])
    bias = np.zeros(7, dtype=np.float32)
    bias[answer] = 5.0
    model.layers[-1].set_weights([np.zeros((48 * 48, 7), dtype=np.float32), bias])
    return model


def test_a_model_that_ignores_the_image_loses_nothing_to_corruption(sample, made):
    rows = sample.indices("PublicTest")
    labels = sample.labels[rows].astype(np.int64)
    share = float((labels == 3).mean())  # Happy: the answer's share of PublicTest is its accuracy anywhere
    scored = corruption_scores(constant_model(3), made, rows, labels, share, 256)
    assert set(scored["accuracy"]) == set(CORRUPTIONS)
    assert all(values == pytest.approx([share] * len(SEVERITIES)) for values in scored["accuracy"].values())
    assert scored["mean_accuracy"] == pytest.approx(share) and scored["relative_drop"] == pytest.approx(0.0, abs=1e-12)
    assert scored["images"] == len(rows) and scored["severities"] == list(SEVERITIES)


def test_without_the_package_an_uncached_fer2013_c_is_one_line(sample, monkeypatch, tmp_path):
    monkeypatch.setenv("FER_BENCH_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "imagecorruptions", None)  # as if it were not installed
    with pytest.raises(UserError, match=r"spec.yaml: training.corruptions: .*pip install 'fer-bench\[robustness\]'"):
        check_makeable(sample, "spec.yaml: training.corruptions")
