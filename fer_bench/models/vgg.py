"""A VGG-style network for FER-2013 (after Khaireddin & Chen, 2021: 73.28% PublicTest).

Four stages of two 3x3 convolutions (64, 128, 256, 512 filters), each with batch norm and ReLU,
then 2x2 max-pooling; a dense head with dropout. `width` scales every layer, so that CPU tests
can train a narrow copy of the same architecture.
"""

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from fer_bench.models.base import INPUT_SHAPE, NUM_CLASSES, Builder, ModelCost


class VGGParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stages: list[PositiveInt] = Field(default=[64, 128, 256, 512], min_length=1, max_length=5)
    convs_per_stage: PositiveInt = 2
    dense_units: list[PositiveInt] = Field(default=[4096, 4096])
    dropout: float = Field(default=0.2, ge=0.0, lt=1.0)  # in the dense head
    width: float = Field(default=1.0, gt=0.0, le=4.0)

    def scaled(self, units: int) -> int:
        return max(1, round(units * self.width))


def vgg_cost(p: VGGParams) -> ModelCost:
    params = nontrainable = macs = 0
    channels, side = INPUT_SHAPE[2], INPUT_SHAPE[0]
    for filters in map(p.scaled, p.stages):
        for _ in range(p.convs_per_stage):
            weights = 9 * channels * filters
            params += weights + filters + 4 * filters  # kernel, bias, batch norm (2 of its 4 trainable)
            nontrainable += 2 * filters
            macs += weights * side * side
            channels = filters
        side //= 2
    units = side * side * channels
    for width in [*map(p.scaled, p.dense_units), NUM_CLASSES]:
        params += units * width + width
        macs += units * width
        units = width
    return ModelCost(params, params - nontrainable, macs)


def build_vgg(p: VGGParams):
    import keras
    from keras import layers

    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = inputs
    for stage, filters in enumerate(map(p.scaled, p.stages), start=1):
        for conv in range(1, p.convs_per_stage + 1):
            x = layers.Conv2D(filters, 3, padding="same", name=f"conv{stage}_{conv}")(x)
            x = layers.BatchNormalization(name=f"conv{stage}_{conv}_bn")(x)
            x = layers.Activation("relu", name=f"conv{stage}_{conv}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(map(p.scaled, p.dense_units), start=1):
        x = layers.Dense(units, activation="relu", name=f"dense{i}")(x)
        if p.dropout:
            x = layers.Dropout(p.dropout, name=f"dense{i}_dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name="vgg")


VGG_BUILDER = Builder(
    name="vgg",
    params_model=VGGParams,
    build=build_vgg,
    cost=vgg_cost,
    description="VGG-style: stages of two 3x3 convs with batch norm, dense head; `width` scales it",
)
