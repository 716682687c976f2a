"""What fit and predict read: on TensorFlow, Keras's own pipeline for NumPy arrays with tf.data's
autotuner switched off; on the other backends, the arrays themselves.

Keras turns arrays into a tf.data pipeline with an autotuned parallel map and prefetch, and makes a
fresh iterator of it every epoch and every predict. The autotuner's thread sleeps between its
rounds, longer and longer up to a minute, and an iterator that is thrown away waits for that thread
before it goes: on a 2-core CPU, whole-train-split epochs that should take 80 s took 140 s, the
process idle for the difference (docs/performance.md). With the autotuner off the pipeline is the
same (the same batches in the same order, so the same training), only no thread sleeps in it.
"""

import numpy as np

PIPELINE_ARRAYS = "arrays"
PIPELINE_TF_DATA = "tf.data (Keras's array pipeline, autotune off)"


def _array_pipeline():
    """Keras's ArrayDataAdapter, or None where this Keras keeps it elsewhere (then fit gets the arrays)."""
    try:
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    except ImportError:
        return None
    return ArrayDataAdapter


def _tf_dataset(arrays: tuple, batch_size: int, shuffle: bool):
    import keras

    adapter = _array_pipeline()
    if keras.backend.backend() != "tensorflow" or adapter is None:
        return None
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    x, *rest = arrays
    arrays_adapter = adapter(x, *rest, batch_size=batch_size, shuffle=shuffle)
    # The pipeline's flat_map hides its length; told it, Keras counts the epoch's steps as for arrays
    # (and does not warn that the data "ran out" at the end of every epoch).
    length = tf.data.experimental.assert_cardinality(arrays_adapter.num_batches)
    return arrays_adapter.get_tf_dataset().apply(length).with_options(options)


def pipeline() -> str:
    """What fit and predict read in this process, for the record."""
    import keras

    tensorflow = keras.backend.backend() == "tensorflow" and _array_pipeline() is not None
    return PIPELINE_TF_DATA if tensorflow else PIPELINE_ARRAYS


def fit_inputs(x: np.ndarray, y: np.ndarray, validation: tuple[np.ndarray, np.ndarray], batch_size: int,
               shuffle: bool) -> dict:
    """The data arguments of model.fit: training batches (shuffled per epoch as asked) and validation."""
    train = _tf_dataset((x, y), batch_size, shuffle)
    if train is None:
        return {"x": x, "y": y, "validation_data": validation, "batch_size": batch_size, "shuffle": shuffle}
    # shuffle=False only tells Keras not to expect to shuffle a dataset: the dataset shuffles itself.
    return {"x": train, "validation_data": _tf_dataset(validation, batch_size, False), "shuffle": False}


def predict(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """model.predict over the images in order."""
    dataset = _tf_dataset((x,), batch_size, False)
    if dataset is None:
        return model.predict(x, batch_size=batch_size, verbose=0)
    return model.predict(dataset, verbose=0)
