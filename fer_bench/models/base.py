"""What every model builder provides: validated parameters, a Keras model, an analytic cost."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

INPUT_SHAPE = (48, 48, 1)
NUM_CLASSES = 7


@dataclass(frozen=True)
class ModelCost:
    """Sizes computed without Keras, so that `fer-bench list` stays fast.

    `macs` counts the multiply-accumulates of convolution and dense kernels per image; biases,
    batch norm, activations and pooling are not counted (about 1% for the study's model).
    """

    parameters: int
    trainable_parameters: int
    macs: int


@dataclass(frozen=True)
class Builder:
    name: str
    params_model: type[BaseModel]
    build: Callable[[Any], Any]
    cost: Callable[[Any], ModelCost]
    description: str = ""
