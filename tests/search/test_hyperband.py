"""Hyperband, the fourth strategy: Keras Tuner's own oracle proposes, fer-bench trains, continuing a
trial from the weights of the one it continues."""

import math
import shutil

import keras_tuner as kt
import pytest
from conftest import SEARCH_SPEC, call_main, run_cli, write

from fer_bench.records import iter_records
from fer_bench.search.strategies import make_strategy
from fer_bench.spec.search import SearchSpec, hyperband_budget, hyperband_rounds

SPACE = {"training.optimizer.learning_rate": {"type": "float", "min": 1e-5, "max": 1e-1, "sampling": "log"},
         "model.params.dropout": {"type": "choice", "values": [0.0, 0.2, 0.4, 0.6]}}


def made_score(values: dict) -> float:
    """A fixed score per proposal that grows with its epochs: best near lr 1e-3, dropout 0.2."""
    lr, dropout = values["training.optimizer.learning_rate"], values["model.params.dropout"]
    return 0.6 - 0.1 * (math.log10(lr) + 3) ** 2 - (dropout - 0.2) ** 2 + 0.01 * values["tuner/epochs"]


@pytest.mark.parametrize(("max_epochs", "factor"), [(1, 3), (2, 3), (3, 3), (9, 3), (27, 3), (10, 2), (81, 4)])
def test_brackets_and_budgets_are_keras_tuners(max_epochs, factor):
    oracle = kt.oracles.HyperbandOracle(objective=kt.Objective("score", "max"), max_epochs=max_epochs, factor=factor)
    brackets = list(reversed(range(oracle._get_num_brackets())))
    assert hyperband_rounds(max_epochs, factor) == [
        [(oracle._get_size(b, r), oracle._get_epochs(b, r)) for r in range(b + 1)] for b in brackets]


def test_the_cpu_budget_is_matched_to_the_other_strategies():
    """search_cpu's Hyperband trains about the epochs random or Bayesian search does (4 trials x 3)."""
    trials, epochs = hyperband_budget(3, 3)
    assert (trials, epochs) == (6, 11)


def proposals_in_batches(strategy, limit: int) -> tuple[list, list[int]]:
    """Every proposal, asked for as SearchRun asks: up to `limit` at a time while the strategy says the next is
    alike (search.strategies.proposes_alike), then each told its made score; and the batches' sizes."""
    proposals, sizes = [], []
    while True:
        batch = []
        while not batch or len(batch) < limit and strategy.proposes_alike(batch[0]):
            proposal = strategy.propose(f"t{len(proposals) + len(batch)}")
            if proposal is None:
                break
            batch.append(proposal)
        if not batch:
            return proposals, sizes
        for proposal in batch:
            strategy.report(proposal, made_score({**proposal.values, "tuner/epochs": proposal.rung["epochs"]}))
        proposals += batch
        sizes.append(len(batch))


@pytest.mark.parametrize("limit", [1, 4])
def test_hyperband_proposes_continues_and_stops_like_keras_tuners_own_tuner(tmp_path, limit):
    """Keras Tuner's Hyperband tuner and fer-bench's strategy, the same seed, told the same scores:
    the same trials, the same values, epochs, brackets and rounds, the same trials continued, the same end.
    Asked for up to 4 proposals at a time (a round's trials train together), it proposes the same sequence:
    a batch never reaches past its round."""
    search = SearchSpec.model_validate({"strategy": "hyperband", "seed": 5, "space": SPACE,
                                        "hyperband": {"max_epochs": 9, "factor": 3, "iterations": 2}})
    strategy = make_strategy("hyperband", search)

    class ScoredTuner(kt.Hyperband):
        def run_trial(self, trial, *args, **kwargs):
            return {"score": made_score(strategy.space.decode(trial.hyperparameters.values)
                                        | {"tuner/epochs": trial.hyperparameters.values["tuner/epochs"]})}

    tuner = ScoredTuner(objective=kt.Objective("score", "max"), max_epochs=9, factor=3, hyperband_iterations=2,
                        seed=5, hyperparameters=strategy.space.hyperparameters, directory=tmp_path, project_name="kt")
    tuner.search()
    theirs = [(t, tuner.oracle.trials[t].hyperparameters.values) for t in tuner.oracle.start_order]
    proposals, sizes = proposals_in_batches(strategy, limit)
    ours = [(p.tuner_trial_id, p.handle.hyperparameters.values) for p in proposals]
    for proposal in proposals:
        rung, values = proposal.rung, proposal.handle.hyperparameters.values
        assert rung == {"epochs": values["tuner/epochs"], "initial_epoch": values["tuner/initial_epoch"],
                        "bracket": values["tuner/bracket"], "round": values["tuner/round"],
                        "continues": int(values["tuner/trial_id"]) + 1 if "tuner/trial_id" in values else None}
    assert ours == theirs
    # brackets of 9, 5 and 3 first-round trials: 4 at a time, each round ends its last batch
    assert sizes == [1] * len(ours) if limit == 1 else max(sizes) == 4 and len(sizes) < len(ours) / 2
    continued = [v for _, v in ours if "tuner/trial_id" in v]
    assert len(ours) == 2 * hyperband_budget(9, 3)[0] and len(continued) == 2 * (3 + 1 + 2)
    assert {v["tuner/epochs"] for _, v in ours} == {1, 3, 9}


HYPERBAND_SPEC = SEARCH_SPEC.format(strategy="hyperband", max_trials=4).replace(
    "  bayesian: {initial_points: 2}", "  hyperband: {max_epochs: 3, factor: 3}").replace("[0.0, 0.3]",
                                                                                       "[0.0, 0.1, 0.2, 0.3]")


def by_number(out) -> dict[int, dict]:
    return {r["search"]["trial_number"]: r for _, r in iter_records(out)}


@pytest.mark.slow
def test_a_search_killed_between_rungs_resumes_and_continues_from_the_kept_weights(tmp_path):
    """Bracket 1 trains 3 trials for 1 epoch, then continues the best to 3; bracket 0 trains 2 for 3.
    Killed (a real process) after the first round, the rerun replays that round, trains nothing of it
    again, and continues the best trial from its kept weights: its epochs are 2 and 3."""
    spec = write(tmp_path / "s.yaml", HYPERBAND_SPEC)
    killed = run_cli("run", spec, "--out", tmp_path / "out",
                     env={"FER_BENCH_FAULT": "kill@between_trials:hyperband-003*"})
    assert killed.returncode == -9, killed.stdout[-2000:]
    first_round = by_number(tmp_path / "out")
    folder = tmp_path / "out" / "s"
    assert sorted(first_round) == [1, 2, 3]
    assert all(r["config"]["training"]["epochs"] == 1 for r in first_round.values())
    assert all((folder / r["trial_id"] / "weights.npz").is_file() for r in first_round.values())
    rerun = call_main("run", spec, "--out", tmp_path / "out")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert rerun.stdout.count(": training ") == 3 and "3 search trials replayed from records" in rerun.stdout
    records = by_number(tmp_path / "out")
    assert all(r["status"] == "complete" for r in records.values())
    rungs = {n: r["search"]["rung"] for n, r in records.items()}
    assert [(g["bracket"], g["round"], g["initial_epoch"], g["epochs"]) for _, g in sorted(rungs.items())] == [
        (1, 0, 0, 1), (1, 0, 0, 1), (1, 0, 0, 1), (1, 1, 1, 3), (0, 0, 0, 3), (0, 0, 0, 3)]
    best = max((1, 2, 3), key=lambda n: records[n]["metrics"]["val_accuracy"])
    continued, earlier = records[4], records[best]
    assert rungs[4]["continues"] == best and rungs[4]["continued_from"] == earlier["trial_id"]
    assert [g["random_seed"] for _, g in sorted(rungs.items())] == [0, 0, 0, 1_000_003, 0, 0]
    assert continued["params"] == earlier["params"] and [h["epoch"] for h in continued["history"]] == [2, 3]
    assert sum(len(r["history"]) for r in records.values()) == hyperband_budget(3, 3)[1]
    assert not (folder / continued["trial_id"] / "weights.npz").exists()  # a last round: never continued
    report = call_main("report", tmp_path / "out", "-o", tmp_path / "report.md")
    assert report.returncode == 0, report.stderr[-2000:]
    text = (tmp_path / "report.md").read_text()
    assert f"| 1 | 1 | 1 | 1 → 3 | 2 | {continued['metrics']['val_accuracy']:.4f} | 4 | {best} |" in text
    assert "| 0 | 0 | 2 | 0 → 3 | 6 |" in text and "\n| hyperband | 6 | 0 |" in text
    # the variants table keeps a point's rounds apart: one epoch, and three continued from it, are not two seeds
    assert f"\n| {earlier['variant']} (1 epoch) | " in text and \
        f"\n| {earlier['variant']} (3 epochs, continued) | " in text
    clean = call_main("clean", tmp_path / "out")  # every Hyperband record is one the spec makes
    assert clean.returncode == 0 and "nothing to clean" in clean.stdout, clean.stdout

    # The weights of the continued trial gone, and its record: training it again fails in one line.
    (folder / earlier["trial_id"] / "weights.npz").unlink()
    shutil.rmtree(folder / continued["trial_id"])
    again = call_main("run", spec, "--out", tmp_path / "out")
    assert again.returncode == 3, again.stdout[-2000:]
    assert "1 trials run (0 complete, 0 diverged, 0 timeout, 1 failed)" in again.stdout  # the rest replayed
    failed = by_number(tmp_path / "out")[4]
    assert failed["status"] == "failed" and "\n" not in failed["error"]
    assert failed["error"] == (f"FileNotFoundError: cannot continue {earlier['trial_id']}: its weights "
                               f"{folder / earlier['trial_id'] / 'weights.npz'} are gone (kept for the "
                               "rounds that continue it); delete that trial's folder to train it again")


def test_a_continued_trial_starts_from_the_kept_weights_not_its_own(tmp_path):
    """keep_weights writes a trial's weights where a later round finds them; load_earlier puts them in a
    model built under another seed, every variable equal, and a trial that continues none is left alone."""
    import keras
    import numpy as np

    from fer_bench.spec.load import load_spec
    from fer_bench.spec.trials import Overrides, search_trials
    from fer_bench.training import continuation
    from fer_bench.training.build import build_model

    loaded = load_spec(write(tmp_path / "s.yaml", HYPERBAND_SPEC))
    values = {"training.optimizer.learning_rate": 0.001, "model.params.dropout": 0.1}
    (first,) = search_trials(loaded, Overrides(), "hyperband", 1, values,
                             {"epochs": 1, "initial_epoch": 0, "bracket": 1, "round": 0, "continues": None,
                              "continued_from": None})
    (later,) = search_trials(loaded, Overrides(), "hyperband", 4, values,
                             {"epochs": 3, "initial_epoch": 1, "bracket": 1, "round": 1, "continues": 1,
                              "continued_from": ["first"]})
    assert continuation.random_seed(first) == 0 and continuation.random_seed(later) == continuation.SEED_STRIDE
    keras.utils.set_random_seed(0)
    kept = build_model(first.config)
    continuation.keep_weights(kept, first, tmp_path / "out" / "first")
    keras.utils.set_random_seed(1)
    fresh = build_model(later.config)
    untouched = [w.copy() for w in fresh.get_weights()]
    continuation.load_earlier(fresh, first, tmp_path / "out" / "later")  # continues nothing: left as built
    assert all(np.array_equal(a, b) for a, b in zip(untouched, fresh.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(kept.get_weights(), fresh.get_weights()))
    continuation.load_earlier(fresh, later, tmp_path / "out" / "later")
    assert all(np.array_equal(a, b) for a, b in zip(kept.get_weights(), fresh.get_weights()))
    assert (continuation.initial_epoch(later), continuation.epochs_to_train(later)) == (1, 2)
