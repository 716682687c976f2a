"""Deterministic fault injection for the fault tests: FER_BENCH_FAULT=<action>@<phase>[:<trial slug>].

`action` is `kill` (SIGKILL to itself), `raise` (a RuntimeError) or `enospc` (an OSError "No space
left on device"). Unset in normal use; the check is one dictionary lookup.
"""

import errno
import fnmatch
import os
import signal

ENV_VAR = "FER_BENCH_FAULT"
PHASES = ("data", "parse", "cache", "plan", "audit", "claim", "build", "mid_epoch", "epoch", "evaluate", "write",
          "between_trials")


def fault_point(phase: str, trial_slug: str = "") -> None:
    spec = os.environ.get(ENV_VAR)
    if not spec:
        return
    action, _, target = spec.partition("@")
    want_phase, _, pattern = target.partition(":")
    if want_phase != phase or (pattern and not fnmatch.fnmatch(trial_slug, pattern)):
        return
    if action == "kill":
        print(f"fault: killed at {phase} {trial_slug}".strip(), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "raise":
        raise RuntimeError(f"injected fault at {phase} ({ENV_VAR})")
    if action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def wants(phase: str) -> bool:
    return os.environ.get(ENV_VAR, "").partition("@")[2].partition(":")[0] == phase


def mid_epoch_callback(slug: str):
    """A Keras callback that reaches the `mid_epoch` point at the third batch; only built when asked,
    because batch-level callbacks make Keras sync after every batch."""
    import keras

    class MidEpoch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                fault_point("mid_epoch", slug)

    return MidEpoch()
