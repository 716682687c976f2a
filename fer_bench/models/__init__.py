"""Model builders, registered by name. A spec picks one with `model.builder`."""

from fer_bench.models.base import Builder, ModelCost
from fer_bench.models.cnn import CNN_BUILDER

BUILDERS: dict[str, Builder] = {b.name: b for b in (CNN_BUILDER,)}

__all__ = ["BUILDERS", "Builder", "ModelCost"]
