"""Each split's arrays, made once per run and shared by every trial that trains or scores on them."""

import numpy as np

from fer_bench.data.corrupted import CorruptedPublicTest
from fer_bench.data.formats import FERData
from fer_bench.data.splits import Split
from fer_bench.training.device_loop import DeviceSplit


class ArrayCache:
    """Float arrays per split (and their uint8 copies on the device), built once per run and shared by every
    trial that uses them."""

    def __init__(self, data: FERData):
        self.data = data
        self._arrays: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self._corrupted: CorruptedPublicTest | None = None

    def get(self, split: Split) -> tuple[np.ndarray, np.ndarray]:
        key = split.indices.tobytes()
        if key not in self._arrays:
            self._arrays[key] = (split.x(self.data), split.y(self.data))
        return self._arrays[key]

    def on_device(self, split: Split) -> DeviceSplit:
        """The split's uint8 pixels and labels on the accelerator, put there once per run."""
        key = b"device" + split.indices.tobytes()
        if key not in self._arrays:
            self._arrays[key] = DeviceSplit.put(self.data, split)
        return self._arrays[key]

    def corrupted(self) -> CorruptedPublicTest:
        """FER-2013-C of this data (made on first use, then read from its cache)."""
        if self._corrupted is None:
            self._corrupted = CorruptedPublicTest(self.data)
        return self._corrupted
