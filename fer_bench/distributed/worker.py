"""A worker of a spread run: trains what the chief hands out, with heartbeats, until told to stop."""

import contextlib
import json
import threading
import time

import grpc
from keras_tuner.src import protos
from keras_tuner.src.engine import trial as trial_module

from fer_bench.errors import FerBenchError, UserError
from fer_bench.scheduling.queue import Proposed, Work

Status = trial_module.TrialStatus


IDLE_POLL_S = 1.0


HEARTBEAT_S = 2.0


class ChiefUnreachable(FerBenchError):
    """A worker lost its chief mid-run: exit code 4; every record written so far stays."""

    exit_code = 4


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

    def finish(self, trial, scores: list[tuple[float | None, str]], failure: str = "") -> None:
        """The work's outcome: each proposal's score (and why it has none) as metrics `score/0`, `score/1`, ...
        and a JSON list of the reasons; or `failure`, the whole work's."""
        metrics = {f"score/{i}": score for i, (score, _) in enumerate(scores) if score is not None}
        if metrics:
            self._call("UpdateTrial", self.service.UpdateTrialRequest(trial_id=trial.trial_id, metrics=metrics,
                                                                       step=0))
        reasons = [message for _, message in scores]
        failed = failure or any(reasons)
        trial.status = Status.FAILED if failed else Status.COMPLETED
        trial.message = failure or (json.dumps(reasons) if any(reasons) else None)
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
    spec = next((p for p in planned if p.name == described["spec"]), None)
    if spec is None:
        raise UserError(f"the chief handed out a trial of spec {described['spec']!r}, which this worker was not "
                        f"given; run the worker with the chief's specs")
    fingerprint = spec.planner.data.fingerprint
    if fingerprint != described["data"]:
        raise UserError(f"{spec.loaded.path}: this worker's data {fingerprint} differs from the chief's "
                        f"{described['data']}; give both the same --data")
    if "proposals" not in described:
        by_id = {t.trial_id: t for t in spec.trials}
        missing = [i for i in described["trial_ids"] if i not in by_id]
        if missing:
            raise UserError(f"{spec.loaded.path}: the chief's trial {missing[0]} is not in this worker's plan; give "
                            "both the same spec file and flags")
        return Work(spec, [by_id[i] for i in described["trial_ids"]])
    proposals = [_resolve_proposal(part, spec) for part in described["proposals"]]
    return Work(spec, [t for p in proposals for t in p.trials], proposals)


def _resolve_proposal(described: dict, spec) -> Proposed:
    from fer_bench.search.strategies import Proposal
    from fer_bench.spec.trials import search_trials

    proposal = Proposal(described["strategy"], described["number"], described["tuner_trial_id"], described["values"],
                        rung=described.get("rung"))
    trials = [spec.planner.plan(t) for t in search_trials(spec.loaded, spec.overrides, proposal.strategy,
                                                           proposal.number, proposal.values, proposal.rung)]
    if [t.trial_id for t in trials] != described["trial_ids"]:
        raise UserError(f"{spec.loaded.path}: the chief's search trial {described['trial_ids'][0]} differs from "
                        "this worker's; give both the same spec file and flags")
    return Proposed(proposal, trials, described["search"])


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
            client.finish(trial, [], str(exc))
            raise
        with Heartbeat(client, trial.trial_id, HEARTBEAT_S):
            records = trainer.train_work(work)
        client.finish(trial, work.scores(records))
