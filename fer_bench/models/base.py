"""What every model builder provides: validated parameters, a Keras model, an analytic cost."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

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


class AnyParams(BaseModel):
    """For a builder that checks its own parameters: any mapping is accepted as it is."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class Builder:
    """`build(params)` returns an uncompiled Keras model from (48, 48, 1) images in [0, 1] to 7
    softmax outputs in the canonical label order. `params_model` validates `model.params` (the
    validated object is what `build` gets); `cost`, when given, sizes the model without Keras.
    `member_params` are the parameters that change no shape, only values a grouped program carries per
    member (as ValueDropout's rate): models that differ in them alone train together. `source`: where a
    builder given from Python came from (models/sources.py), which its records keep."""

    name: str
    build: Callable[[Any], Any]
    params_model: type[BaseModel] = AnyParams
    cost: Callable[[Any], ModelCost] | None = None
    description: str = ""
    member_params: tuple[str, ...] = ()
    source: str = ""

    def params(self, raw: dict) -> BaseModel:
        return self.params_model.model_validate(raw)

    def cost_of(self, raw: dict) -> ModelCost | None:
        return self.cost(self.params(raw)) if self.cost is not None else None
