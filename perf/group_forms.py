"""How members of a group could share one compiled program, measured on this machine (JAX): Keras's
stateless train step for one model at a time, `jax.vmap` over N members' stacked states (what
training/group_loop.py does), and the N steps side by side in one program (a Python loop unrolled
inside one jit). Random data, batch 64, the same number of steps each; prints training images per
second of each form, and a last JSON line.

    KERAS_BACKEND=jax python perf/group_forms.py [--members 3] [--steps 20] [--model small_cnn|study_cnn]
"""

import argparse
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

MODELS = {"small_cnn": {"conv_filters": [32, 64, 128], "conv_kernels": [3, 3, 3], "dense_units": [128]},
          "study_cnn": {}}


def models(count: int, params: dict) -> list:
    import keras

    from fer_bench.models import BUILDERS
    from fer_bench.training.variables import make_training_variables

    built = []
    for seed in range(count):
        keras.utils.set_random_seed(seed)
        model = BUILDERS["cnn"].build(BUILDERS["cnn"].params(params))
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
        make_training_variables(model, 64)
        built.append(model)
    return built


def timed(step, state, batches, steps: int) -> float:
    """Seconds per step after one warm-up (compile) step."""
    import jax

    state = step(state, batches)
    jax.block_until_ready(state)
    began = time.perf_counter()
    for _ in range(steps):
        state = step(state, batches)
    jax.block_until_ready(state)
    return (time.perf_counter() - began) / steps


def main() -> None:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from fer_bench.training.device_loop import train_state

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--model", default="small_cnn", choices=list(MODELS))
    args = parser.parse_args()
    n = args.members
    group = models(n, MODELS[args.model])
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.random((n, 64, 48, 48, 1), np.float32))
    y = jax.nn.one_hot(jnp.asarray(rng.integers(0, 7, (n, 64))), 7)
    states = [train_state(m) for m in group]
    step = group[0].train_step

    lone = jax.jit(lambda state, batch: step(state, batch)[1])
    alone_s = timed(lone, states[0], (x[0], y[0]), args.steps)
    stacked = jax.tree.map(lambda *v: jnp.stack(v), *states)
    vmapped = jax.jit(jax.vmap(lambda state, batch: step(state, batch)[1]))
    vmap_s = timed(vmapped, stacked, (x, y), args.steps)
    side = jax.jit(lambda states, batches: [step(s, (batches[0][i], batches[1][i]))[1] for i, s in enumerate(states)])
    side_s = timed(side, states, (x, y), args.steps)
    found = {"one member at a time": 64 / alone_s, f"vmap of {n}": 64 * n / vmap_s,
             f"{n} side by side in one program": 64 * n / side_s}
    for form, rate in found.items():
        print(f"{args.model} {form}: {rate:.0f} training images/s", flush=True)
    print(json.dumps({"model": args.model, "members": n, "backend": jax.default_backend(),
                      "images_per_s": {k: round(v, 1) for k, v in found.items()}}))


if __name__ == "__main__":
    main()
