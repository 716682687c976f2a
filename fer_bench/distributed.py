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

import collections
import contextlib
import functools
import json
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc
import keras_tuner as kt
from keras_tuner.src import protos
from keras_tuner.src.distribute.oracle_chief import OracleServicer
from keras_tuner.src.engine import trial as trial_module
from keras_tuner.src.engine.oracle import synchronized

from fer_bench.errors import FerBenchError, UserError
from fer_bench.progress import format_seconds
from fer_bench.search.strategies import NEVER_GIVE_UP
from fer_bench.work import Work, WorkQueue, proposal_score

Status = trial_module.TrialStatus
IDLE_POLL_S = 1.0
HEARTBEAT_S = 2.0


class ChiefUnreachable(FerBenchError):
    """A worker lost its chief mid-run: exit code 4; every record written so far stays."""

    exit_code = 4


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
        if "score" in metrics:
            self.scores[trial_id] = float(metrics["score"])
        return self.trials.get(trial_id) or trial_module.Trial(kt.HyperParameters(), trial_id, Status.STOPPED)

    @synchronized
    def end_trial(self, trial):
        work = self.work.pop(trial.trial_id, None)
        if work is None:  # its lease expired and it went to another worker; that one's report counts
            return
        tuner_id = self._tuner_of(trial.trial_id)
        score = self.scores.pop(trial.trial_id, None) if trial.status == Status.COMPLETED else None
        self.queue.finish(work, score, trial.message or "")
        self.trials[trial.trial_id].status = trial.status
        if tuner_id is not None:
            self.ongoing_trials.pop(tuner_id, None)
            self.last_seen[tuner_id] = time.time()
            self.trained_by[tuner_id] += len(work.trials)
        shown = "failed" if trial.status != Status.COMPLETED else (f"{score:.4f}" if score is not None else "done")
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


def _label(work: Work) -> str:
    if work.proposal is not None:
        return f"{work.spec.name} {work.proposal.strategy} #{work.proposal.number}"
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


class ChiefClient:
    """A worker's line to the chief, with bounded waits instead of Keras Tuner's one hour."""

    def __init__(self, channel: grpc.Channel, address: str, tuner_id: str, timeout_s: float):
        self.channel, self.address, self.tuner_id, self.timeout_s = channel, address, tuner_id, timeout_s
        self.stub = protos.get_service_grpc().OracleStub(self.channel)
        self.service = protos.get_service()

    def _call(self, method: str, request):
        try:
            return getattr(self.stub, method)(request, wait_for_ready=True, timeout=self.timeout_s)
        except grpc.RpcError as exc:
            raise ChiefUnreachable(f"lost the chief at {self.address} ({exc.code().name}); records written so far "
                                   "are kept") from None

    def create_trial(self):
        response = self._call("CreateTrial", self.service.CreateTrialRequest(tuner_id=self.tuner_id))
        return trial_module.Trial.from_proto(response.trial)

    def heartbeat(self, trial_id: str) -> None:
        self._call("UpdateTrial", self.service.UpdateTrialRequest(trial_id=trial_id, metrics={}, step=0))

    def finish(self, trial, score: float | None, message: str) -> None:
        if score is not None:
            self._call("UpdateTrial", self.service.UpdateTrialRequest(trial_id=trial.trial_id,
                                                                       metrics={"score": score}, step=0))
        trial.status = Status.COMPLETED if not message else Status.FAILED
        trial.message = message or None
        self._call("EndTrial", self.service.EndTrialRequest(trial=trial.to_proto()))

    def close(self) -> None:
        self.channel.close()


class Heartbeat:
    """Tells the chief, every `interval_s`, that this worker is still on its trial."""

    def __init__(self, client: ChiefClient, trial_id: str, interval_s: float):
        self.client, self.trial_id, self.interval_s = client, trial_id, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def _beat(self):
        while not self._stop.wait(self.interval_s):
            with contextlib.suppress(ChiefUnreachable):  # the worker's next call says so, after recording
                self.client.heartbeat(self.trial_id)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 5)


def resolve_work(described: dict, planned: list) -> Work:
    """The work a chief described, rebuilt from this worker's own plan of the same specs."""
    from fer_bench.search.strategies import Proposal
    from fer_bench.spec import search_trials

    spec = next((p for p in planned if p.name == described["spec"]), None)
    if spec is None:
        raise UserError(f"the chief handed out a trial of spec {described['spec']!r}, which this worker was not "
                        f"given; run the worker with the chief's specs")
    fingerprint = spec.planner.data.fingerprint
    if fingerprint != described["data"]:
        raise UserError(f"{spec.loaded.path}: this worker's data {fingerprint} differs from the chief's "
                        f"{described['data']}; give both the same --data")
    if "strategy" not in described:
        by_id = {t.trial_id: t for t in spec.trials}
        missing = [i for i in described["trial_ids"] if i not in by_id]
        if missing:
            raise UserError(f"{spec.loaded.path}: the chief's trial {missing[0]} is not in this worker's plan; give "
                            "both the same spec file and flags")
        return Work(spec, [by_id[i] for i in described["trial_ids"]])
    proposal = Proposal(described["strategy"], described["number"], described["tuner_trial_id"], described["values"])
    trials = [spec.planner.plan(t) for t in search_trials(spec.loaded, spec.overrides, proposal.strategy,
                                                           proposal.number, proposal.values)]
    if [t.trial_id for t in trials] != described["trial_ids"]:
        raise UserError(f"{spec.loaded.path}: the chief's search trial {described['trial_ids'][0]} differs from "
                        "this worker's; give both the same spec file and flags")
    return Work(spec, trials, proposal, described["search"])


def work_loop(client: ChiefClient, planned: list, trainer) -> None:
    """Ask for work until the chief says stop; train each item into records and report it."""
    while True:
        trial = client.create_trial()
        if trial.status == Status.STOPPED:
            return
        if trial.status == Status.IDLE:
            time.sleep(IDLE_POLL_S)
            continue
        try:
            work = resolve_work(json.loads(trial.hyperparameters.values["work"]), planned)
        except UserError as exc:
            client.finish(trial, None, str(exc))
            raise
        with Heartbeat(client, trial.trial_id, HEARTBEAT_S):
            records = [trainer.train(work.spec, t, work.search) for t in work.trials]
        if work.proposal is not None:
            score, message = proposal_score(records, work.spec.loaded.spec.search.objective)
        else:
            score, message = None, ""
        client.finish(trial, score, message)


def records_note(out: Path) -> str:
    return (f"records in {out}; with one results directory on a shared file system the chief can resume from them, "
            "with one per worker merge them: fer-bench report DIR1 DIR2 ...")
