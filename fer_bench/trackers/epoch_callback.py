"""The Keras callback a streaming tracker adds to a trial: the epoch's row, once the monitor has made it.

Its own module so that Keras (and TensorFlow's start-up) is imported only once a trial trains."""

import keras


class EpochRows(keras.callbacks.Callback):
    """Listed after the trial's monitor, so the monitor's last row is the epoch that just ended."""

    def __init__(self, send, monitor):
        super().__init__()
        self.send, self.monitor = send, monitor

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor.history:
            self.send(self.monitor.history[-1])
