"""Deterministic fault injection for the fault tests: FER_BENCH_FAULT=<action>@<phase>[:<trial slug>].

`action` is `kill` (SIGKILL to itself) or `raise` (a RuntimeError inside the trial). Unset in
normal use; the check is one dictionary lookup.
"""

import fnmatch
import os
import signal

ENV_VAR = "FER_BENCH_FAULT"
PHASES = ("data", "build", "epoch", "evaluate", "write", "between_trials")


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
