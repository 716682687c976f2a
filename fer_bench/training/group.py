"""A group of trials trained together (training/group_loop.py), each ending in its own ordinary record.

Every member goes through a lone trial's phases (TrialRun): its record opened, its model built under
its own seed, and, once the group's program has trained it, its verdict, scores and record written as
soon as it stops, while the others train on. A member whose build fails is recorded failed and the
group trains without it; a failure of the group's program fails every member not yet recorded.
"""

import gc
import hashlib
import time
import traceback

import keras

from fer_bench.training import compile_cache, continuation
from fer_bench.training.device_loop import check_backend
from fer_bench.training.group_loop import GroupLoop
from fer_bench.training.trial import RunContext, TrialInputs, TrialRun
from fer_bench.training.variables import make_training_variables


def group_id(trial_ids: list[str]) -> str:
    return hashlib.sha256(" ".join(trial_ids).encode()).hexdigest()[:8]


def run_group(members: list[TrialInputs], run: RunContext, on_record) -> None:
    """Train the members as one program; `on_record(index, record)` as each member's record is written."""
    GroupRun(members, run, on_record).run()


class GroupRun:
    def __init__(self, members: list[TrialInputs], run: RunContext, on_record):
        self.members, self.run_context, self.on_record = members, run, on_record
        self.trials = [TrialRun(inputs, run) for inputs in members]
        self.ready: list[int] = []
        self.closed: set[int] = set()
        self.writing = False  # a failure while a record is written is the run's, not the members'

    def run(self) -> None:
        for trial in self.trials:
            trial.attempt(trial.build)
        self.ready = [i for i, t in enumerate(self.trials) if not t.failed]
        for index in (i for i, t in enumerate(self.trials) if t.failed):
            self.close(index)
        try:
            if self.ready:
                self.train()
        except Exception as exc:  # the group's program failed: so did every member still in it
            if self.writing:
                raise
            detail = traceback.format_exc()
            for index in self.ready:
                if index not in self.closed:
                    self.trials[index].trained_done()
                    self.trials[index].fail(exc, detail)
                    self.close(index)
        finally:
            keras.backend.clear_session()

    def close(self, index: int) -> None:
        self.writing = True
        record = self.trials[index].close(clear_session=False)
        self.closed.add(index)
        self.on_record(index, record)
        self.writing = False

    def train(self) -> None:
        trials, ready, members = self.trials, self.ready, self.members
        first = members[ready[0]]
        training, trial_ids = first.trial.config["training"], [members[i].trial_id for i in ready]
        check_backend(keras.backend.backend(), f"{first.loaded.path}: trial {first.trial.slug}")
        for index in ready:
            make_training_variables(trials[index].built.model, training["batch_size"])
            trials[index].monitor.epoch_share = 1 / len(ready)
        loop = GroupLoop([trials[i].built.model for i in ready], [members[i].trial.seed for i in ready],
                         training["batch_size"], training["shuffle"],
                         time_limited=any(members[i].trial.config["training"]["timeout_s"] for i in ready))
        device_train = first.arrays.on_device(first.splits["train"])
        device_val = first.arrays.on_device(first.splits["validation"])
        cache_mark = compile_cache.mark()
        compile_s = round(loop.compile(device_train, device_val), 3)
        programs = compile_cache.since(cache_mark)
        self.run_context.progress.say(
            f"  group {group_id(trial_ids)}: {len(ready)} trials as one program "
            f"({', '.join(members[i].trial.slug for i in ready)}), compiled in {compile_s:.1f}s"
            + (" from the cache" if programs.get("from_cache") else ""))

        def done(position: int) -> None:
            trial = trials[ready[position]]
            trial.trained.fit_s = time.time() - trial.monitor.fit_started
            trial.trained.compilation = {"compile_s": compile_s, "steps_per_call": loop.steps_per_call,
                                         "cache": programs}
            trial.trained_done()
            trial.record["group"] = {"id": group_id(trial_ids), "members": trial_ids, "index": position,
                                     "size": len(ready), "train_images_per_s": loop.throughput()}
            trial.attempt(trial.conclude)
            self.close(ready[position])

        gc.freeze()  # as in fitting.train: fer-bench's own objects need no walking during training
        try:
            loop.fit(device_train, device_val, continuation.epochs_to_train(first.trial),
                     [trials[i].callbacks() for i in ready], [members[i].trial.slug for i in ready], done,
                     continuation.initial_epoch(first.trial))
        finally:
            gc.unfreeze()
