"""The chief of a spread run: serves every spec's work to workers as a Keras Tuner oracle; trains nothing."""

import collections
import functools
import json
import time
from concurrent import futures
from pathlib import Path

import grpc
import keras_tuner as kt
from keras_tuner.src import protos
from keras_tuner.src.distribute.oracle_chief import OracleServicer
from keras_tuner.src.engine import trial as trial_module
from keras_tuner.src.engine.oracle import synchronized

from fer_bench.errors import UserError
from fer_bench.progress import format_seconds
from fer_bench.scheduling.queue import Work, WorkQueue
from fer_bench.search.strategies import NEVER_GIVE_UP, WAIT

Status = trial_module.TrialStatus


class WorkOracle(kt.Oracle):
    """Hands out fer-bench work as Keras Tuner trials; one trial carries one work item as JSON."""

    def __init__(self, queue: WorkQueue, lease_s: float, say=functools.partial(print, flush=True)):
        super().__init__(objective=kt.Objective("score", "max"), hyperparameters=kt.HyperParameters(), seed=1,
                         max_consecutive_failed_trials=NEVER_GIVE_UP)
        self.verbose = 0
        self.queue, self.lease_s, self.say = queue, lease_s, say
        self.work: dict[str, Work] = {}
        self.scores: dict[str, float] = {}
        self.last_seen: dict[str, float] = {}
        self.retry: list[Work] = []
        self.exhausted = False
        self.trained_by = collections.Counter()
        self.handed_out = self.finished_items = 0
        self.total, self.started = queue.expected, time.time()

    def save(self):  # fer-bench's records are the state; nothing per trial on the chief's disk
        pass

    def _save_trial(self, trial):
        pass

    @synchronized
    def create_trial(self, tuner_id):
        now = time.time()
        self.last_seen[tuner_id] = now
        self.tuner_ids.add(tuner_id)
        self._expire(now)
        if tuner_id in self.ongoing_trials:  # Keras Tuner's rule: a worker back with its id resumes its trial
            return self.ongoing_trials[tuner_id]
        work = self.retry.pop(0) if self.retry else None
        if work is None and not self.exhausted:
            work = self.queue.next()
            self.exhausted = work is None
        if work == WAIT:  # Hyperband's next round needs the scores of trials still training
            return trial_module.Trial(kt.HyperParameters(), status=Status.IDLE)
        if work is None:
            if self.ongoing_trials:
                return trial_module.Trial(kt.HyperParameters(), status=Status.IDLE)
            self.tuner_ids.discard(tuner_id)
            return trial_module.Trial(kt.HyperParameters(), status=Status.STOPPED)
        trial_id = f"{self.handed_out:05d}"
        self.handed_out += 1
        hps = kt.HyperParameters()
        hps.values = {"work": json.dumps(work.describe())}
        trial = trial_module.Trial(hps, trial_id=trial_id, status=Status.RUNNING)
        self.trials[trial_id] = trial
        self.ongoing_trials[tuner_id] = trial
        self.work[trial_id] = work
        self.say(f"chief: trial {trial_id} -> {tuner_id}: {_label(work)}")
        return trial

    @synchronized
    def update_trial(self, trial_id, metrics, step=0):
        tuner_id = self._tuner_of(trial_id)
        if tuner_id is not None:
            self.last_seen[tuner_id] = time.time()
        scores = {name: float(value) for name, value in metrics.items() if name.startswith("score/")}
        if scores:
            self.scores[trial_id] = scores
        return self.trials.get(trial_id) or trial_module.Trial(kt.HyperParameters(), trial_id, Status.STOPPED)

    @synchronized
    def end_trial(self, trial):
        work = self.work.pop(trial.trial_id, None)
        if work is None:  # its lease expired and it went to another worker; that one's report counts
            return
        tuner_id = self._tuner_of(trial.trial_id)
        scores = outcomes(work, trial.status, trial.message or "", self.scores.pop(trial.trial_id, {}))
        self.queue.finish(work, scores)
        self.trials[trial.trial_id].status = trial.status
        if tuner_id is not None:
            self.ongoing_trials.pop(tuner_id, None)
            self.last_seen[tuner_id] = time.time()
            self.trained_by[tuner_id] += len(work.trials)
        shown = ", ".join("failed" if score is None else f"{score:.4f}" for score, _ in scores) or (
            "done" if trial.status == Status.COMPLETED else "failed")
        self.finished_items += 1
        self.say(f"chief: trial {trial.trial_id} from {tuner_id}: {shown}; {self.finished_items} of "
                 f"~{self.total} done, ETA {self._eta()}")

    def _eta(self) -> str:
        left = max(self.total - self.finished_items, 0)
        return format_seconds((time.time() - self.started) / self.finished_items * left)

    @synchronized
    def finished(self) -> bool:
        """All work handed out and reported, and every worker told to stop (or silent past its lease)."""
        self._expire(time.time())
        return self.exhausted and not self.retry and not self.ongoing_trials and not self.tuner_ids

    def _tuner_of(self, trial_id: str) -> str | None:
        return next((t for t, trial in self.ongoing_trials.items() if trial.trial_id == trial_id), None)

    def _expire(self, now: float) -> None:
        for tuner_id in list(self.tuner_ids):
            if now - self.last_seen.get(tuner_id, now) <= self.lease_s:
                continue
            self.tuner_ids.discard(tuner_id)
            trial = self.ongoing_trials.pop(tuner_id, None)
            if trial is not None and trial.trial_id in self.work:
                self.retry.append(self.work.pop(trial.trial_id))
                self.say(f"chief: {tuner_id} silent for over {self.lease_s:g}s; trial {trial.trial_id} goes back "
                         "to the queue")


def outcomes(work: Work, status, message: str, scores: dict[str, float]) -> list[tuple[float | None, str]]:
    """Each proposal's score (and why it has none), from what its worker reported (worker.ChiefClient.finish):
    a JSON list of reasons, or one failure for the whole work."""
    try:
        reasons = json.loads(message) if message else [""] * len(work.proposals)
    except ValueError:
        reasons = None
    if not isinstance(reasons, list) or len(reasons) != len(work.proposals):
        reasons = [message or "failed"] * len(work.proposals)
    if status != Status.COMPLETED and not any(reasons):
        reasons = ["failed"] * len(work.proposals)
    return [(None if reason else scores.get(f"score/{i}"), reason) for i, reason in enumerate(reasons)]


def _label(work: Work) -> str:
    if work.proposals:
        numbers = ", ".join(f"#{p.proposal.number}" for p in work.proposals)
        return f"{work.spec.name} {work.proposals[0].proposal.strategy} {numbers}"
    return f"{work.spec.name} {work.trials[0].trial_id}"


def serve(queue: WorkQueue, host: str, port: int, lease_s: float) -> WorkOracle:
    """Serve the queue until its work is done and every worker is told to stop."""
    oracle = WorkOracle(queue, lease_s)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    protos.get_service_grpc().add_OracleServicer_to_server(OracleServicer(oracle), server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:
        bound = 0
    if not bound:
        raise UserError(f"--port {port}: cannot listen on {host}:{port} (in use, or not an address of this host)")
    server.start()
    print(f"chief: serving {queue.expected} trials at {host}:{bound}; start workers with "
          f"`fer-bench run SPECS --worker --chief-address THIS_HOST:{bound}`", flush=True)
    try:
        while not oracle.finished():
            time.sleep(0.2)
    finally:
        server.stop(grace=2)
    return oracle


def records_note(out: Path) -> str:
    return (f"records in {out}; with one results directory on a shared file system the chief can resume from them, "
            "with one per worker merge them: fer-bench report DIR1 DIR2 ...")
