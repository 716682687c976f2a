"""Spread any spec over machines through Keras Tuner's chief/worker protocol (gRPC).

The chief (`fer-bench run SPECS --chief --port N`) serves a Keras Tuner Oracle subclass whose
trials are fer-bench work items: a sweep's pending trial, or a search proposal from the wrapped
grid/random/Bayesian strategy. Workers (`--worker --chief-address HOST:N`) plan the same specs,
train what they are handed into records, and report each score back. The chief trains nothing.

Beyond Keras Tuner's own chief, which hands a dead worker's trial only to a worker that comes back
with the same tuner id and never exits while that id is registered: a worker that is silent for
--lease seconds (workers send a heartbeat every 2 s while training) loses its trial to the
next worker that asks, and no longer keeps the chief waiting.
"""
