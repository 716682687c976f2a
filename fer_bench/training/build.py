"""The build phase of a trial: the model from its builder, checked, compiled with its optimizer and loss."""

import math
from dataclasses import dataclass

import keras
import numpy as np

from fer_bench.data.formats import EMOTIONS
from fer_bench.models import BUILDERS
from fer_bench.models.base import INPUT_SHAPE
from fer_bench.training.augment import augmentation_layers
from fer_bench.training.inputs import pipeline
from fer_bench.training.schedules import make_schedule


@dataclass
class Built:
    """A compiled model and the arrays it trains and validates on (labels as class indices)."""

    model: object
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray

    def onehot(self, labels: np.ndarray) -> np.ndarray:
        return np.eye(len(EMOTIONS), dtype=np.float32)[labels]


def build(config: dict, train: tuple[np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray]) -> Built:
    """The trial's model, compiled as its training section says; the dtype policy is set before."""
    training = config["training"]
    model = build_model(config)
    steps = math.ceil(len(train[0]) / training["batch_size"])
    rate = make_schedule(training["schedule"], training["optimizer"]["learning_rate"], steps, training["epochs"])
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=training["label_smoothing"]) \
        if training["label_smoothing"] else training["loss"]
    model.compile(optimizer=make_optimizer(training["optimizer"], rate), loss=loss, metrics=["accuracy"],
                  jit_compile=training["jit_compile"], steps_per_execution=training["steps_per_execution"])
    return Built(model, *train, *validation)


def build_model(config: dict):
    builder = BUILDERS[config["model"]["builder"]]
    model = builder.build(builder.params(config["model"]["params"]))
    check_shapes(model, f"builder {builder.name!r}")
    augmentation = augmentation_layers(config["training"]["augmentation"])
    if not augmentation:
        return model
    # Augmentation layers are active in fit() only; inference sees the image as it is.
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = inputs
    for layer in augmentation:
        x = layer(x)
    return keras.Model(inputs, model(x), name=f"{model.name}_augmented")


class ShapeError(ValueError):
    pass


def check_shapes(model, what: str) -> None:
    """FER-2013 in, 7 emotions out; anything else fails the trial with a sentence, not a shape error."""
    try:
        ins, outs = [tuple(t.shape[1:]) for t in model.inputs], [tuple(t.shape[1:]) for t in model.outputs]
    except (AttributeError, TypeError, ValueError):  # a subclassed model knows its shapes once called
        ins, outs = [INPUT_SHAPE], [tuple(model(np.zeros((1, *INPUT_SHAPE), "float32")).shape[1:])]
    inputs, outputs = (ins[0] if len(ins) == 1 else ins), (outs[0] if len(outs) == 1 else outs)
    if inputs != INPUT_SHAPE or outputs != (len(EMOTIONS),):
        raise ShapeError(f"{what}: the model maps {inputs} to {outputs}; fer-bench needs one input of shape "
                         f"{INPUT_SHAPE} (48x48 grey in [0, 1]) and one output of shape ({len(EMOTIONS)},) (softmax)")


def make_optimizer(spec: dict, learning_rate=None):
    """The spec's optimizer; `learning_rate` (a schedule, say) replaces its constant rate."""
    common = {"learning_rate": spec["learning_rate"] if learning_rate is None else learning_rate}
    if spec["weight_decay"] is not None:
        common["weight_decay"] = spec["weight_decay"]
    name = spec["name"]
    if name == "sgd":
        return keras.optimizers.SGD(momentum=spec["momentum"], nesterov=spec["nesterov"], **common)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(momentum=spec["momentum"], **common)
    return {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
            "nadam": keras.optimizers.Nadam}[name](**common)


def model_summary(config: dict, model) -> dict:
    builder = BUILDERS[config["model"]["builder"]]
    cost = builder.cost_of(config["model"]["params"])
    trainable = cost.trainable_parameters if cost else int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return {"builder": builder.name, "parameters": int(model.count_params()),
            "trainable_parameters": trainable, "macs_per_image": cost.macs if cost else None,
            **({"source": builder.source} if builder.source else {})}


def compilation(model, training: dict) -> dict:
    """How the training step ran: what was asked, what Keras made of it, and by which compiler."""
    backend = keras.backend.backend()
    compiled = bool(model.jit_compile)
    compiler = {"jax": "XLA" if compiled else "none (eager JAX)",
                "tensorflow": "XLA" if compiled else "tf.function graph",
                "torch": "torch.compile" if compiled else "none (eager torch)"}.get(backend, str(compiled))
    if training["loop"] == "device":
        compiled, compiler = True, "XLA (training.loop: device)"
    return {"jit_compile_requested": training["jit_compile"], "jit_compile": compiled, "compiler": compiler,
            "steps_per_execution": training["steps_per_execution"], "loop": training["loop"],
            "input_pipeline": "device arrays" if training["loop"] == "device" else pipeline()}
