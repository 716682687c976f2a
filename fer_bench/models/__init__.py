"""Model builders, registered by name. A spec picks one with `model.builder`."""

from fer_bench.models.base import AnyParams, Builder, ModelCost
from fer_bench.models.cnn import CNN_BUILDER
from fer_bench.models.registry import Registry
from fer_bench.models.vgg import VGG_BUILDER

BUILDERS = Registry([CNN_BUILDER, VGG_BUILDER])

__all__ = ["BUILDERS", "AnyParams", "Builder", "ModelCost"]
