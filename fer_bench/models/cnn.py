"""The study's configurable CNN: conv blocks, dense blocks, softmax over 7 emotions.

Its defaults are the public NJNischal model the study started from (4,478,727 parameters).
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from fer_bench.models.base import INPUT_SHAPE, NUM_CLASSES, Builder, ModelCost


class CNNParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conv_filters: list[PositiveInt] = Field(default=[64, 128, 512, 512], min_length=1)
    conv_kernels: list[PositiveInt] = Field(default=[3, 5, 3, 3], min_length=1)
    padding: Literal["same", "valid"] = "same"
    batch_norm: bool = True
    activation: Literal["relu", "elu", "gelu", "silu", "tanh", "leaky_relu"] = "relu"
    pooling: Literal["max", "average"] = "max"
    dropout: float = Field(default=0.25, ge=0.0, lt=1.0)
    dense_units: list[PositiveInt] = Field(default=[256, 512])
    dense_dropout: float | None = Field(default=None, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _check_shapes(self):
        if len(self.conv_kernels) != len(self.conv_filters):
            raise ValueError(
                f"conv_kernels has {len(self.conv_kernels)} entries but conv_filters has "
                f"{len(self.conv_filters)}: give one kernel size per conv block"
            )
        _feature_map_sides(self)
        return self


def _feature_map_sides(p: CNNParams) -> list[int]:
    """Side of each block's output before pooling; fails when an image shrinks to nothing."""
    side, sides = INPUT_SHAPE[0], []
    for i, k in enumerate(p.conv_kernels):
        out = side if p.padding == "same" else side - k + 1
        if out < 2:
            raise ValueError(
                f"conv block {i + 1} gets a {side}x{side} map: too small for a {k}x{k} kernel "
                f"with '{p.padding}' padding and 2x2 pooling; use fewer blocks"
            )
        sides.append(out)
        side = out // 2
    return sides


def cnn_cost(p: CNNParams) -> ModelCost:
    params = nontrainable = macs = 0
    channels = INPUT_SHAPE[2]
    sides = _feature_map_sides(p)
    for filters, kernel, side in zip(p.conv_filters, p.conv_kernels, sides):
        weights = kernel * kernel * channels * filters
        params += weights + filters
        macs += weights * side * side
        if p.batch_norm:
            params += 4 * filters
            nontrainable += 2 * filters
        channels = filters
    units = (sides[-1] // 2) ** 2 * channels
    for width in [*p.dense_units, NUM_CLASSES]:
        params += units * width + width
        macs += units * width
        units = width
    if p.batch_norm:
        params += 4 * sum(p.dense_units)
        nontrainable += 2 * sum(p.dense_units)
    return ModelCost(params, params - nontrainable, macs)


def build_cnn(p: CNNParams):
    import keras
    from keras import layers

    from fer_bench.models.layers import ValueDropout

    pool = layers.MaxPooling2D if p.pooling == "max" else layers.AveragePooling2D
    dense_dropout = p.dropout if p.dense_dropout is None else p.dense_dropout
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = inputs
    for i, (filters, kernel) in enumerate(zip(p.conv_filters, p.conv_kernels), start=1):
        x = layers.Conv2D(filters, kernel, padding=p.padding, name=f"conv{i}")(x)
        if p.batch_norm:
            x = layers.BatchNormalization(name=f"conv{i}_bn")(x)
        x = layers.Activation(p.activation, name=f"conv{i}_act")(x)
        x = pool(2, name=f"conv{i}_pool")(x)
        x = ValueDropout(p.dropout, name=f"conv{i}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(p.dense_units, start=1):
        x = layers.Dense(units, name=f"dense{i}")(x)
        if p.batch_norm:
            x = layers.BatchNormalization(name=f"dense{i}_bn")(x)
        x = layers.Activation(p.activation, name=f"dense{i}_act")(x)
        x = ValueDropout(dense_dropout, name=f"dense{i}_dropout")(x)
    # float32 output keeps the softmax and the loss exact under a mixed-precision policy.
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name="cnn")


CNN_BUILDER = Builder(
    name="cnn",
    params_model=CNNParams,
    build=build_cnn,
    cost=cnn_cost,
    member_params=("dropout", "dense_dropout"),  # ValueDropout: a grouped program carries them per member
    description="configurable conv/dense CNN; defaults = the study's NJNischal model",
)
