"""Training-time augmentation as Keras preprocessing layers (every backend), and test-time views.

The layers act in fit() only; at inference each is the identity. Shifts move the image and fill
the uncovered border with black: pad-and-crop back to 48x48, so inference still sees the whole
face (Keras's RandomCrop would crop at inference too).
"""

import numpy as np

from fer_bench.training.inputs import predict

ERASE_FILL = 0.5  # mid-grey: erased patches stay inside the [0, 1] pixel range
TEN_CROP_PAD = 4  # pixels of black border the ten test views are cut from (as the shifts' padding)


def augmentation_layers(spec: dict) -> list:
    from keras import layers

    found = []
    if spec.get("horizontal_flip"):
        found.append(layers.RandomFlip("horizontal", name="flip"))
    if spec.get("shift"):
        found.append(layers.RandomTranslation(spec["shift"], spec["shift"], fill_mode="constant", fill_value=0.0,
                                              interpolation="nearest", name="shift"))
    if spec.get("zoom"):
        found.append(layers.RandomZoom(spec["zoom"], spec["zoom"], fill_mode="constant", fill_value=0.0,
                                       name="zoom"))
    if spec.get("rotation"):
        found.append(layers.RandomRotation(spec["rotation"] / 360.0, fill_mode="constant", fill_value=0.0,
                                           name="rotation"))
    if spec.get("erasing"):
        found.append(layers.RandomErasing(factor=(spec["erasing"], spec["erasing"]), fill_value=ERASE_FILL,
                                          value_range=(0.0, 1.0), name="erasing"))
    return found


def test_views(x: np.ndarray, mode: str) -> list[np.ndarray]:
    """The views whose predictions test-time augmentation averages: `flip` (2) or `ten_crop` (10)."""
    if mode == "flip":
        return [x, x[:, :, ::-1]]
    if mode != "ten_crop":
        raise ValueError(f"unknown test-time augmentation {mode!r}")
    p = TEN_CROP_PAD
    side = x.shape[1]
    padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    corners = [(0, 0), (0, 2 * p), (2 * p, 0), (2 * p, 2 * p), (p, p)]  # four corners and the centre
    crops = [padded[:, r:r + side, c:c + side] for r, c in corners]
    return crops + [crop[:, :, ::-1] for crop in crops]


def predict_views(model, x: np.ndarray, mode: str, batch_size: int) -> np.ndarray:
    """Mean softmax over the test views of every image."""
    views = test_views(x, mode)
    total = np.zeros((len(x), model.outputs[0].shape[-1]), dtype=np.float64)
    for view in views:
        total += predict(model, np.ascontiguousarray(view), batch_size)
    return (total / len(views)).astype(np.float32)
