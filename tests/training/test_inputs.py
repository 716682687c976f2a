"""What fit and predict read on TensorFlow: Keras's own array pipeline with the autotuner off gives the very
same training and predictions as the arrays themselves."""

import warnings

import numpy as np
import pytest
from conftest import SAMPLE

from fer_bench.data.source import load_data
from fer_bench.training.inputs import PIPELINE_TF_DATA, _tf_dataset, fit_inputs, pipeline, predict

IMAGES = 360  # 5 full batches of 64 and a short one; the other 140 of the 500-image sample validate


@pytest.fixture(scope="module")
def faces():
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the tf.data input is TensorFlow's")
    data = load_data(SAMPLE)
    x = (data.pixels.astype(np.float32) / 255.0)[..., None]
    y = np.eye(7, dtype=np.float32)[data.labels]
    assert len(x) == 500
    return x[:IMAGES], y[:IMAGES], x[IMAGES:], y[IMAGES:]


def small_model(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((48, 48, 1)), keras.layers.RandomFlip("horizontal"), keras.layers.Conv2D(4, 3),
        keras.layers.MaxPooling2D(4), keras.layers.Dropout(0.25), keras.layers.Flatten(),
        keras.layers.Dense(7, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.slow
def test_fit_on_the_pipeline_trains_exactly_as_fit_on_the_arrays(faces):
    """Shuffled, flipped, dropout on: the same seed gives the same history and weights, so the
    pipeline yields the same batches in the same order, epoch after epoch."""
    x, y, x_val, y_val = faces
    by_arrays = small_model(3)
    arrays_history = by_arrays.fit(x, y, validation_data=(x_val, y_val), batch_size=64, epochs=3, shuffle=True,
                                   verbose=0).history
    by_pipeline = small_model(3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipeline_history = by_pipeline.fit(**fit_inputs(x, y, (x_val, y_val), 64, True), epochs=3, verbose=0).history
    assert not [w for w in caught if "ran out of data" in str(w.message) or "shuffle" in str(w.message)]
    assert pipeline_history.keys() == arrays_history.keys()
    for key, values in arrays_history.items():
        np.testing.assert_allclose(pipeline_history[key], values, rtol=1e-6, err_msg=key)
    for mine, theirs in zip(by_pipeline.get_weights(), by_arrays.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-7)
    # and shuffling does reorder: one epoch unshuffled trains to other weights
    unshuffled = small_model(3)
    unshuffled.fit(**fit_inputs(x, y, (x_val, y_val), 64, False), epochs=1, verbose=0)
    shuffled = small_model(3)
    shuffled.fit(**fit_inputs(x, y, (x_val, y_val), 64, True), epochs=1, verbose=0)
    assert not np.allclose(unshuffled.get_weights()[0], shuffled.get_weights()[0])


def test_predict_on_the_pipeline_is_predict_on_the_arrays_in_order(faces):
    x, _, x_val, _ = faces
    model = small_model(1)
    odd = x[:201]  # a last batch shorter than the others
    np.testing.assert_allclose(predict(model, odd, 64), model.predict(odd, batch_size=64, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(predict(model, x_val, 256), model.predict(x_val, batch_size=256, verbose=0),
                               rtol=1e-6)


def test_the_pipeline_runs_without_the_autotuner_and_says_so(faces):
    x, y, _, _ = faces
    dataset = _tf_dataset((x, y), 64, True)
    assert dataset.options().autotune.enabled is False
    assert int(dataset.cardinality()) == -(-IMAGES // 64)
    assert pipeline() == PIPELINE_TF_DATA
