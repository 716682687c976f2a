"""Model builders, registered by name. A spec picks one with `model.builder`."""

from fer_bench.models.base import AnyParams, Builder, ModelCost
from fer_bench.models.cnn import CNN_BUILDER
from fer_bench.models.registry import Registry

BUILDERS = Registry([CNN_BUILDER])

__all__ = ["BUILDERS", "AnyParams", "Builder", "ModelCost"]
