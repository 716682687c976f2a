"""A spec's search space as Keras Tuner hyperparameters, and proposals back as real values.

Keras Tuner's Choice takes scalars of one type; a choice of lists (filter chains) or of mixed ints
and floats becomes a choice of option names, decoded here. A stepped float range becomes an index
over its values, computed once by fer-bench: Keras Tuner counts float steps with floor division,
which loses the last value (0.2..0.5 step 0.1 gives 0.2, 0.3, 0.4), so grid, random and Bayesian
would not search the same set.
"""

from typing import Any

import keras_tuner as kt

from fer_bench.spec.search import ChoiceParam, FloatParam, IntParam, SearchSpec
from fer_bench.spec.trials import value_label


def _scalar_type(values: list) -> type | None:
    """The one Keras Tuner scalar type of `values`, or None when they need names."""
    types = {type(v) for v in values}
    if len(types) == 1 and types <= {int, float, str, bool}:
        return types.pop()
    return None


class Space:
    def __init__(self, search: SearchSpec):
        self.search = search
        self.hyperparameters = kt.HyperParameters()
        self._decoders = {}
        for key, param in search.space.items():
            self._decoders[key] = self._declare(key, param)

    def _declare(self, key: str, param):
        hp = self.hyperparameters
        if isinstance(param, ChoiceParam):
            if _scalar_type(param.values) is not None:
                hp.Choice(key, param.values, ordered=_scalar_type(param.values) in (int, float))
                return lambda value: value
            names = _option_names(param.values)
            hp.Choice(key, list(names), ordered=False)
            return names.__getitem__
        if isinstance(param, FloatParam) and param.step is not None:
            values = param.grid_values()
            hp.Int(key, 0, len(values) - 1)  # equal steps in the index: linear or log, as the range says
            return lambda index: values[int(index)]
        if isinstance(param, IntParam):
            hp.Int(key, param.min, param.max, step=param.step, sampling=param.sampling)
            return int
        hp.Float(key, param.min, param.max, sampling=param.sampling)
        return float

    def decode(self, values: dict[str, Any]) -> dict[str, Any]:
        """A proposal in spec terms: dotted key -> the value the trial uses."""
        return {key: self._decoders[key](values[key]) for key in self.search.space}


def _option_names(values: list) -> dict[str, Any]:
    names = {}
    for value in values:
        name = value_label(value) if not isinstance(value, str) else value
        while name in names:  # "0" (an int) and "0" (a string) stay apart
            name += "'"
        names[name] = value
    return names
