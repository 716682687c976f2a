"""Searches: Keras Tuner's oracles propose, fer-bench trains real (tiny) models and records.

The end-to-end tests train on the bundled sample, where accuracies mean nothing; what they check
is the search machinery: proposals, records, failures, the table, replay and resumption. One search of
every strategy is trained once (`whole_search`) and read by the tests that need a complete one.
"""

import json
import math
import re
import shutil

import jsonschema
import pytest
from conftest import REPO, SEARCH_SPEC, call_main, run_cli, write

from fer_bench.records import iter_records
from fer_bench.spec.load import load_spec
from fer_bench.spec.search import SearchSpec, grid_points, hyperband_budget


def search_spec(tmp_path, strategy="[grid, random, bayesian]", max_trials=4):
    return write(tmp_path / "s.yaml", SEARCH_SPEC.format(strategy=strategy, max_trials=max_trials))


def by_strategy(out) -> dict[str, list[tuple]]:
    """Per strategy, (trial number, parameters, status) in trial order."""
    found: dict[str, list[tuple]] = {}
    for _, record in iter_records(out):
        s = record["search"]
        found.setdefault(s["strategy"], []).append((s["trial_number"], record["params"], record["status"]))
    return {k: sorted(v, key=lambda item: item[0]) for k, v in found.items()}


def trainings(stdout: str) -> int:
    return stdout.count(": training ")


@pytest.fixture(scope="module")
def whole_search(tmp_path_factory):
    """Grid, random and Bayesian, 4 trials each, run to the end: (spec, results, the run's answer)."""
    root = tmp_path_factory.mktemp("whole-search")
    spec = search_spec(root)
    result = call_main("run", spec, "--out", root / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    return spec, root / "out", result


def test_stepped_ranges_keep_their_last_value_and_the_grid_order_is_fixed():
    search = SearchSpec.model_validate({"strategy": "grid", "space": {
        "model.params.dropout": {"type": "float", "min": 0.2, "max": 0.5, "step": 0.1},
        "training.optimizer.learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "step": 10, "sampling": "log"},
    }})
    assert search.space["model.params.dropout"].grid_values() == [0.2, 0.3, 0.4, 0.5]  # Keras Tuner drops 0.5
    points = grid_points(search)
    assert len(points) == search.grid_size() == 12
    assert [p["training.optimizer.learning_rate"] for p in points[:3]] == [1e-4, 1e-3, 1e-2]
    assert [p["model.params.dropout"] for p in points[::3]] == [0.2, 0.3, 0.4, 0.5]


def test_choices_of_lists_are_named_for_keras_tuner_and_decoded_back():
    from fer_bench.search.space import Space

    space = Space(load_spec(REPO / "benchmark" / "search.yaml").spec.search)
    choice = space.hyperparameters.get("model.params.conv_filters")
    assert choice == "64-128-512-512"  # Keras Tuner sees names
    decoded = space.decode({"training.optimizer.learning_rate": 2, "model.params.dropout": 1,
                            "model.params.conv_filters": "64-128-1024-512"})
    assert decoded == {"training.optimizer.learning_rate": 0.01, "model.params.dropout": 0.25,
                       "model.params.conv_filters": [64, 128, 1024, 512]}


def _sequence(name: str, search: SearchSpec, limit: int | None = None, together: int = 1) -> list[tuple]:
    """Proposals of one strategy told a fixed, smooth score for each: best near lr 1e-3, dropout 0.2. Asked for
    up to `together` at a time while the strategy says the next is alike, as SearchRun asks to train them as
    one program; the scores told after each batch."""
    from fer_bench.search.strategies import make_strategy

    strategy = make_strategy(name, search, limit)
    seen = []
    while True:
        batch = []
        while not batch or len(batch) < together and strategy.proposes_alike(batch[0]):
            if (proposal := strategy.propose(f"t{len(seen) + len(batch)}")) is None:
                break
            batch.append(proposal)
        if not batch:
            return seen
        for proposal in batch:
            lr, dropout = proposal.values["training.optimizer.learning_rate"], proposal.values["model.params.dropout"]
            seen.append((round(lr, 10), round(dropout, 10)))
            strategy.report(proposal, 0.6 - 0.1 * (math.log10(lr) + 3) ** 2 - (dropout - 0.2) ** 2)


@pytest.mark.slow
def test_random_and_bayesian_repeat_their_proposals_and_bayesian_leaves_random_after_its_initial_points():
    search = SearchSpec.model_validate({"strategy": ["random", "bayesian"], "max_trials": 10, "seed": 7,
                                        "bayesian": {"initial_points": 3}, "space": {
        "training.optimizer.learning_rate": {"type": "float", "min": 1e-5, "max": 1e-1, "sampling": "log"},
        "model.params.dropout": {"type": "float", "min": 0.0, "max": 0.6}}})
    random_a, random_b = _sequence("random", search), _sequence("random", search)
    bayes_a, bayes_b = _sequence("bayesian", search), _sequence("bayesian", search)
    assert random_a == random_b and bayes_a == bayes_b and len(random_a) == len(bayes_a) == 10
    assert bayes_a[:3] == random_a[:3]  # the same seed draws the same initial points
    assert all(b != r for b, r in zip(bayes_a[3:], random_a[3:]))
    other = _sequence("random", search.model_copy(update={"seed": 8}))
    assert other != random_a
    # --max-trials: the same proposals, fewer of them, so a later run without it goes on from there
    assert _sequence("random", search, 4) == random_a[:4] and _sequence("bayesian", search, 5) == bayes_a[:5]
    # asked for 4 at a time (to train together): random search's draws ignore scores; Bayesian search proposes
    # from finished scores only, so it is asked one at a time whatever the group's size
    assert _sequence("random", search, together=4) == random_a and _sequence("bayesian", search, together=4) == bayes_a


@pytest.mark.slow
def test_a_search_runs_every_strategy_records_each_trial_and_reruns_nothing(whole_search, tmp_path):
    spec, out, first = whole_search
    found = by_strategy(out)
    assert {k: len(v) for k, v in found.items()} == {"grid": 4, "random": 4, "bayesian": 4}
    assert [p for _, p, _ in found["grid"]] == grid_points(load_spec(spec).spec.search)
    records = [r for _, r in iter_records(out)]
    assert all(r["status"] == "complete" and r["environment"]["versions"]["keras_tuner"] for r in records)
    schema = json.loads((REPO / "fer_bench" / "schema" / "record.schema.json").read_text())
    for record in records:
        jsonschema.validate(record, schema)
    for strategy in found:
        ordered = sorted((r for r in records if r["search"]["strategy"] == strategy),
                         key=lambda r: r["search"]["trial_number"])
        values = [r["search"]["objective_value"] for r in ordered]
        assert [r["search"]["best_so_far"] for r in ordered] == [max(values[:i + 1]) for i in range(len(values))]
        assert [r["search"]["tuner_trial_id"] for r in ordered] == [str(i) for i in range(4)]
        assert all(r["trial_id"].startswith(f"{strategy}-") for r in ordered)
    assert "strategy   trials unscored     best  at trial  near at" in first.stdout
    for name in ("grid", "random", "bayesian"):
        assert f"\n  {name:<10}{4:>7}{0:>9}" in first.stdout
    report = call_main("report", out, "-o", tmp_path / "report.md")
    assert report.returncode == 0, report.stderr[-2000:]
    text = (tmp_path / "report.md").read_text()
    assert "### Search strategies" in text
    for name in ("best-so-far", "parameters"):
        (link,) = re.findall(rf"\]\((report_files/\d+-s-{name}\.png)\)", text)
        assert (tmp_path / link).stat().st_size > 1000
    scores = [r["search"]["objective_value"] for r in records]
    assert f"best of all {max(scores):.4f}" in text
    tops = [r["params"] for r in records if r["search"]["objective_value"] == max(scores)]
    assert any(f"best: learning_rate={p['training.optimizer.learning_rate']}, dropout={p['model.params.dropout']} ("
               in text for p in tops)
    strategies = text.split("#### Tuning curves")[0]  # the tuning curves' table names random and the grid again
    assert [line.split(" | ")[0] for line in strategies.splitlines() if line.startswith((
        "| grid |", "| random |", "| bayesian |"))] == ["| grid", "| random", "| bayesian"]
    again = call_main("run", spec, "--out", out)
    assert again.returncode == 0 and trainings(again.stdout) == 0, again.stdout[-2000:]
    assert "nothing to do" in again.stdout and "  bayesian" in again.stdout
    assert {r["trial_id"]: r["finished_at"] for _, r in iter_records(out)} == \
        {r["trial_id"]: r["finished_at"] for r in records}


@pytest.mark.slow
def test_equal_parameters_under_two_strategies_are_two_trials(whole_search):
    _, out, _ = whole_search
    found = by_strategy(out)
    assert found["random"][:2] == found["bayesian"][:2]  # same seed, same initial points...
    ids = [r["trial_id"] for _, r in iter_records(out)]
    assert len(ids) == len(set(ids)) == 12  # ...but each strategy trains its own


@pytest.mark.slow
def test_a_second_search_seed_trains_its_own_oracle_trials_and_the_report_shows_the_spread(whole_search, tmp_path):
    """`--search-seed 2` into the same results: the grid's points do not depend on the seed, so nothing of
    it trains again; random's trials are new ones (their ids carry the seed even where the values repeat),
    and the report gives each strategy under each seed a line with its compute, and draws the spread."""
    spec, whole, _ = whole_search
    shutil.copytree(whole, tmp_path / "out")
    grid = call_main("run", spec, "--out", tmp_path / "out", "--search-seed", "2", "--only", "grid")
    assert grid.returncode == 0 and trainings(grid.stdout) == 0, grid.stdout[-2000:]
    second = call_main("run", spec, "--out", tmp_path / "out", "--search-seed", "2", "--only", "random")
    assert second.returncode == 0 and trainings(second.stdout) == 4, second.stdout[-2000:]
    assert "running 4 trials (0 already recorded)" in second.stdout  # seed 1's random trials are not these
    records = [r for _, r in iter_records(tmp_path / "out")]
    seeds = {}
    for record in records:
        seeds.setdefault((record["search"]["strategy"], record["search"]["search_seed"]), []).append(record)
    assert {k: len(v) for k, v in seeds.items()} == {("grid", 1): 4, ("random", 1): 4, ("bayesian", 1): 4,
                                                     ("random", 2): 4}
    assert all(r["overrides"]["search_seed"] == 2 for r in seeds[("random", 2)])
    assert not {r["trial_id"] for r in seeds[("random", 2)]} & {r["trial_id"] for r in seeds[("random", 1)]}
    report = call_main("report", tmp_path / "out", "-o", tmp_path / "report.md")
    assert report.returncode == 0, report.stderr[-2000:]
    text = (tmp_path / "report.md").read_text()
    assert "the median over search seeds; band: their range" in text
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in text.split("#### Tuning")[0].splitlines()
            if line.startswith(("| grid (", "| random (", "| bayesian ("))}
    assert list(rows) == ["grid (seed 1)", "random (seed 1)", "random (seed 2)", "bayesian (seed 1)"]
    for (strategy, seed), group in seeds.items():
        cells = rows[f"{strategy} (seed {seed})"]
        assert int(cells[8]) == sum(len(r["history"]) for r in group)  # epochs spent
        assert float(cells[9].replace(",", "")) == pytest.approx(sum(r["timing"]["fit_s"] for r in group), abs=0.5)
        if cells[6] != "-":  # epochs to come near the best of all: at most what the strategy spent
            assert 1 <= int(cells[6]) <= int(cells[8])


@pytest.mark.slow
@pytest.mark.parametrize(("where", "done_before"), [("between_trials:random-002*", ("grid",)),
                                                    ("mid_epoch:bayesian-003*", ("grid", "random"))],
                         ids=["between_trials:random-002*", "mid_epoch:bayesian-003*"])
def test_a_killed_search_resumes_with_the_same_proposals_and_trains_only_what_is_missing(whole_search, tmp_path,
                                                                                        where, done_before):
    """The killed run starts where `whole_search` had finished the strategies before the one it is killed
    in (their records copied): it replays them, proposes the rest live and dies at `where`; the rerun
    must then match the search run in one go. The copies spare training the same tiny trials again (8
    and 5 trainings instead of 12 and 12), and the killed run is itself a resumed one."""
    spec, whole, _ = whole_search
    for _, record in iter_records(whole):
        if record["search"]["strategy"] in done_before:
            shutil.copytree(whole / "s" / record["trial_id"], tmp_path / "out" / "s" / record["trial_id"])
    killed = run_cli("run", spec, "--out", tmp_path / "out", env={"FER_BENCH_FAULT": f"kill@{where}"})
    assert killed.returncode == -9, killed.stdout[-2000:]
    kept = {r["trial_id"] for _, r in iter_records(tmp_path / "out")}
    # the copied trials replayed, not trained again; a trial killed mid-epoch started training
    assert trainings(killed.stdout) == len(kept) - 4 * len(done_before) + where.startswith("mid_epoch")
    rerun = call_main("run", spec, "--out", tmp_path / "out")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert trainings(rerun.stdout) == 12 - len(kept)
    assert by_strategy(tmp_path / "out") == by_strategy(whole)
    assert f"{len(kept)} search trials replayed from records" in rerun.stdout


@pytest.mark.slow
def test_failed_and_diverged_trials_are_recorded_and_the_search_goes_on(tmp_path):
    spec = write(tmp_path / "s.yaml", SEARCH_SPEC.format(strategy="random", max_trials=7).replace(
        "{type: float, min: 1.0e-3, max: 1.0e-2, step: 10, sampling: log}",
        "{type: choice, values: [1.0e-3, 1.0e+4]}").replace("[0.0, 0.3]", "[0.0, 0.1, 0.2, 0.3]"))
    result = call_main("run", spec, "--out", tmp_path / "out", env={"FER_BENCH_FAULT": "raise@build:random-00[2-5]*"})
    assert result.returncode == 3, result.stderr[-3000:]  # some trials failed: they are recorded
    rows = by_strategy(tmp_path / "out")["random"]
    assert len(rows) == 7  # Keras Tuner alone would stop after 3 failures in a row
    statuses = {number: status for number, _, status in rows}
    assert [statuses[n] for n in (2, 3, 4, 5)] == ["failed"] * 4
    huge = [status for number, params, status in rows
            if params["training.optimizer.learning_rate"] == 1e4 and number not in (2, 3, 4, 5)]
    assert huge and all(status == "diverged" for status in huge)
    failed = sum(1 for _, _, status in rows if status != "complete")
    assert re.search(rf"\n  random\s+7\s+{failed}\s", result.stdout), result.stdout[-1500:]
    records = [r for _, r in iter_records(tmp_path / "out")]
    assert all(r["search"]["objective_value"] is None for r in records if r["status"] != "complete")


@pytest.mark.slow
def test_stray_keras_tuner_variables_do_not_turn_a_local_search_distributed(tmp_path):
    spec = search_spec(tmp_path, strategy="random", max_trials=2)
    env = {"KERASTUNER_TUNER_ID": "tuner0", "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": "9"}
    result = call_main("run", spec, "--out", tmp_path / "out", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "warning: ignoring KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT, KERASTUNER_TUNER_ID" in result.stderr
    assert len(by_strategy(tmp_path / "out")["random"]) == 2


def test_a_search_over_ranges_without_a_grid_is_listed_without_building_one(tmp_path):
    """Random and Hyperband need no grid: `list` sizes them at the space's first point (a float range without a
    step has no grid to take it from, and a billion split seeds would be a billion points)."""
    spec = write(tmp_path / "s.yaml", "name: nogrid\ndataset: {source: sample}\ntraining: {epochs: 2}\nsearch:\n"
                 "  strategy: [random, hyperband]\n  max_trials: 3\n  space:\n"
                 "    dataset.split_seed: {type: int, min: 0, max: 1000000000}\n"
                 "    model.params.dropout: {type: float, min: 0.0, max: 0.5}\n")
    listing = call_main("list", spec, "--out", tmp_path / "out")
    assert listing.returncode == 0, listing.stderr
    brackets = hyperband_budget(2, 3)[0]  # max_epochs: training.epochs; the default factor
    assert f"search: random 3 + hyperband {brackets} trials x 1 execution" in listing.stdout, listing.stdout
    assert "random: 3 trials" in listing.stdout and f"hyperband: {brackets} trials" in listing.stdout
    assert "grid-0" not in listing.stdout


def test_the_cpu_search_spec_is_small_enough_for_ci_and_lists_its_grid(tmp_path):
    search = load_spec(REPO / "benchmark" / "search_cpu.yaml").spec.search
    assert search.grid_size() <= 8 and search.executions == 1
    for name in ("search", "search_cpu"):  # one budget per configuration, and about the same compute in all
        spec = load_spec(REPO / "benchmark" / f"{name}.yaml").spec
        assert set(spec.search.strategies) == {"grid", "random", "bayesian", "hyperband"}
        assert spec.search.hyperband.max_epochs in (None, spec.training.epochs)
        random_epochs = spec.search.max_trials * spec.training.epochs
        assert 0.85 <= hyperband_budget(spec.training.epochs, spec.search.hyperband.factor)[1] / random_epochs <= 1.05
        assert spec.search.max_trials >= 2 * spec.search.initial_points
    listing = call_main("list", "search_cpu", "--data", REPO / "fer_bench" / "sample" / "fer2013-sample.csv.gz",
                        "--out", tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count("grid-00") == 8 and "random: 4 trials" in listing.stdout
    limited = call_main("list", "search_cpu", "--data", REPO / "fer_bench" / "sample" / "fer2013-sample.csv.gz",
                        "--out", tmp_path, "--max-trials", "3")
    assert limited.returncode == 0, limited.stderr
    assert "search: grid 3 + random 3 + bayesian 3 + hyperband 3 trials" in limited.stdout, limited.stdout
    assert [line.split()[0] for line in limited.stdout.splitlines() if "grid-00" in line] == \
        [line.split()[0] for line in listing.stdout.splitlines() if "grid-00" in line][:3]
    assert json.loads(json.dumps(grid_points(search)))  # plain data, as records keep it
